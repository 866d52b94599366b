from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OcdsConfig(AppConfig):
    name = "mutualis.ocds"
    label = "ocds"
    verbose_name = _("Open contracting data (OCDS)")

    def ready(self) -> None:
        from mutualis.contracts import signals as contract_signals
        from mutualis.core.files import anyone, register_owner
        from mutualis.procurement import signals as procurement_signals

        from . import receivers
        from .models import BULK_OWNER_KIND

        # The bulk files are open data: anyone reads them.
        register_owner(BULK_OWNER_KIND, can_read=anyone, public=True)

        # Each change of a procedure made public is snapshotted by a job (services.py);
        # what procurement records without a signal (closing, cancellation) is caught by
        # the periodic reconciliation (platform.py).
        for signal, uid in (
            (procurement_signals.consultation_published, "ocds.published"),
            (procurement_signals.rectification_published, "ocds.rectified"),
            (contract_signals.award_changed, "ocds.award"),
        ):
            signal.connect(receivers.on_consultation_changed, dispatch_uid=uid)
        contract_signals.contract_changed.connect(
            receivers.on_contract_changed, dispatch_uid="ocds.contract"
        )
