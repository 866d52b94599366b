from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DepositsConfig(AppConfig):
    name = "mutualis.deposits"
    label = "deposits"
    verbose_name = _("Sealed deposits")

    def ready(self) -> None:
        # --- Proof of deposit (proof-log) ---
        from mutualis.core.files import register_owner

        from . import receipt_pdf, signals

        # The signed receipt PDFs: read by the company's representatives and the buyer.
        register_owner(receipt_pdf.RECEIPT_OWNER_KIND, can_read=receipt_pdf.can_read_receipt_pdf)
        # Once an acknowledgement is committed, its signed PDF is made in the background.
        signals.deposit_acknowledged.connect(
            receipt_pdf.on_deposit_acknowledged, dispatch_uid="deposits.receipt_pdf"
        )
