from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecpConfig(AppConfig):
    name = "mutualis.decp"
    label = "decp"
    verbose_name = _("Essential procurement data (DECP)")
