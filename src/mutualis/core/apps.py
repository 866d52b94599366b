from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "mutualis.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        # Every context declares what it brings (routes, jobs, roles, menus, …) in its
        # own `platform` module: core collects them and imports none of them by name.
        from . import registry

        registry.discover()

        from mutualis.core.files import anyone, register_owner
        from mutualis.core.models.organisations import LOGO_OWNER_KIND

        # A member's logo is public: it is shown on the member's public page.
        register_owner(LOGO_OWNER_KIND, can_read=anyone, public=True)
