from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "mutualis.procurement"
    label = "procurement"
    verbose_name = _("Public procurement")

    def ready(self) -> None:
        from . import alerts_receivers, signals

        signals.consultation_published.connect(
            alerts_receivers.on_consultation_published, dispatch_uid="procurement.alerts"
        )
