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
