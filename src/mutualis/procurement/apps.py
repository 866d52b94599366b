from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "mutualis.procurement"
    label = "procurement"
    verbose_name = _("Public procurement")

    def ready(self) -> None:
        from mutualis.core.files import register_owner

        from .document_views import can_read_document_file
        from .models import DOCUMENT_OWNER_KIND

        # The consultation files (DCE): public once the consultation is, read by the
        # member's buyers while it is a draft.
        register_owner(DOCUMENT_OWNER_KIND, can_read=can_read_document_file)

        from . import downloaders, questions, signals

        # The download register records the downloads of identified downloaders; they
        # are mailed of every rectification (questions.py).
        signals.documents_downloaded.connect(
            downloaders.on_documents_downloaded, dispatch_uid="procurement.register_download"
        )
        signals.rectification_published.connect(
            questions.on_rectification_published,
            dispatch_uid="procurement.notify_rectification",
        )

        from . import alerts_receivers

        # A new consultation is matched against the immediate alerts (alerts.py).

        signals.consultation_published.connect(
            alerts_receivers.on_consultation_published, dispatch_uid="procurement.alerts"
        )

        from . import archives
        from .document_views import can_read_archive_file
        from .models import ARCHIVE_OWNER_KIND

        # The ZIP of a published version's files, written once by a job (archives.py):
        # public with its consultation, read by the member's buyers otherwise.
        register_owner(ARCHIVE_OWNER_KIND, can_read=can_read_archive_file)
        signals.consultation_published.connect(
            archives.on_consultation_changed, dispatch_uid="procurement.archive_published"
        )
        signals.rectification_published.connect(
            archives.on_consultation_changed, dispatch_uid="procurement.archive_rectified"
        )
