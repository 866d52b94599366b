from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "mutualis.identity"
    label = "identity"
    verbose_name = _("Identity")

    def ready(self) -> None:
        from . import checks, mfa, sessions
        from .oidc import remember_parsed_keys

        checks.register()
        mfa.connect_signals()
        sessions.connect_signals()
        remember_parsed_keys()
