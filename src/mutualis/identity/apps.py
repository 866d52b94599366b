from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "mutualis.identity"
    label = "identity"
    verbose_name = _("Identity")

    def ready(self) -> None:
        from . import mfa, sessions
        from .oidc import remember_parsed_keys

        mfa.connect_signals()
        sessions.connect_signals()
        remember_parsed_keys()
