from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DirectoryConfig(AppConfig):
    name = "mutualis.directory"
    label = "directory"
    verbose_name = _("Directory")

    def ready(self) -> None:
        from mutualis.core.api import register_router

        from .api import router

        # The directory's operations under /api/v1/ (``/organisations``, …).
        register_router("", router)
