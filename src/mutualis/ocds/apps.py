from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OcdsConfig(AppConfig):
    name = "mutualis.ocds"
    label = "ocds"
    verbose_name = _("Open contracting data (OCDS)")
