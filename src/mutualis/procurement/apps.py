from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProcurementConfig(AppConfig):
    name = "mutualis.procurement"
    label = "procurement"
    verbose_name = _("Public procurement")

    def ready(self) -> None:
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
