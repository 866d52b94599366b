"""Errors of the platform core: a stable ``code`` and a translatable ``message``."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _


class MutualisError(Exception):
    """A refused use case: ``code`` is stable, ``message`` translated, and ``field`` names
    the input a form shows it on (``field_name`` gives the default)."""

    code = "error"
    message = _("Something went wrong.")
    field_name: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        if message is not None:
            self.message = message
        self.field = field or self.field_name
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": str(self.message)}


class NoMembership(PermissionDenied):
    code = "no_membership"
    message = _("You do not act for any organisation.")


class TerritoryFileError(MutualisError):
    code = "territory_file_invalid"
    message = _("A territory file is invalid.")


class ServiceNotSubscribed(MutualisError):
    """The acting organisation has no active subscription to the service: new actions of
    the member stop; what it published and what others are entitled to goes on."""

    code = "service_not_subscribed"
    message = _(
        "Your organisation's subscription to this service is suspended or missing: "
        "nothing new can be done in it for now."
    )
