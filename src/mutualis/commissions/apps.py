from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommissionsConfig(AppConfig):
    name = "mutualis.commissions"
    label = "commissions"
    verbose_name = _("Commissions")
