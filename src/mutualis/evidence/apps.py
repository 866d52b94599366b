from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "mutualis.evidence"
    label = "evidence"
    verbose_name = _("Evidence")

    def ready(self) -> None:
        # asn1crypto names object identifiers through maps that each module extends when
        # imported (tsp adds signingCertificateV2, pdf Adobe's attributes), and that are
        # turned into reverse maps once, at their first use: imported late, a name is
        # unknown for the life of the process. So they are imported at start-up.
        import asn1crypto.pdf
        import asn1crypto.tsp  # noqa: F401
