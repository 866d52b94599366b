"""Errors of the platform core: a stable ``code`` and a translatable ``message``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class MutualisError(Exception):
    """A refused use case: ``code`` is stable, ``message`` translated, and ``field`` names
    the input a form shows it on (``field_name`` gives the default)."""

    code = "error"
    message: _StrOrPromise = _("Something went wrong.")
    field_name: str | None = None

    def __init__(self, message: _StrOrPromise | None = None, *, field: str | None = None) -> None:
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


class EmailRefused(MutualisError):
    """An e-mail that ``queue_email`` refuses to write to the outbox."""

    code = "email_refused"
    message = _("This e-mail cannot be sent.")


class EmailHeaderRefused(EmailRefused):
    code = "email_header_refused"

    def __init__(self, name: object) -> None:
        super().__init__(
            _(
                "The e-mail header %(name)s is refused: a header name must be printable "
                "ASCII without a colon, its value without line breaks, and the platform "
                "sets the address and content headers itself."
            )
            % {"name": repr(name)}
        )


class EmailAlternativeRefused(EmailRefused):
    code = "email_alternative_refused"

    def __init__(self, mimetype: str) -> None:
        super().__init__(
            _("An alternative part must be text (text/html, text/calendar…), not %(type)s.")
            % {"type": repr(mimetype)}
        )


class EmailAttachmentRefused(EmailRefused):
    code = "email_attachment_refused"

    def __init__(self, filename: str) -> None:
        super().__init__(
            _(
                "The attachment %(name)s is refused: it needs a name without line breaks "
                "or slashes, and a content type such as application/pdf."
            )
            % {"name": repr(filename)}
        )


class EmailAttachmentsTooLarge(EmailRefused):
    code = "email_attachments_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            _(
                "The attachments weigh %(size)d bytes, above the limit of %(limit)d bytes "
                "per e-mail: share large documents by link."
            )
            % {"size": size, "limit": limit}
        )
