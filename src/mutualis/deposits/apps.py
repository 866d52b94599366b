from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepositsConfig(AppConfig):
    name = "mutualis.deposits"
    label = "deposits"
    verbose_name = _("Sealed deposits")
