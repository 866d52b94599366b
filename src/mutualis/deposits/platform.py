"""What the deposits context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

from . import proof_tasks

# --- Proof of deposit (proof-log): the public log's roots, the receipt PDF, the page on
# how deposits work -----------------------------------------------------------------------

registry.declare_routes(
    prefixes={
        # How deposits work, and the published roots and their tokens: public facts.
        "deposits_proof:": Access.PUBLIC,
        # A company's own receipt and inclusion proof, under /c/<siren>/deposits/.
        "company_deposits_proof:": Access.TENANT,
    }
)


def _proof_public_urls() -> Any:
    from . import proof_urls

    return proof_urls.public()


def _proof_company_urls() -> Any:
    from . import proof_urls

    return proof_urls.company()


registry.declare_urls(registry.Urls("deposits/", _proof_public_urls))
registry.declare_urls(registry.Urls("deposits/", _proof_company_urls, tenant="c"))


def _log_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from .proof_views import log_section_context

    return log_section_context(request, consultation)


# After the deadline only: the root, count, closing time and token of each closed section.
for _audience in ("public", "buyer"):
    registry.declare_consultation_section(
        registry.ConsultationSection(
            f"deposits_log_{_audience}", _audience, "deposits/proof_section.html", _log_section, 50
        )
    )

registry.declare_periodic_job(
    registry.PeriodicJob(
        "deposits_close_log_sections",
        proof_tasks.close_due_log_sections,
        IntervalTrigger(minutes=1),
        "Close, time-stamp and publish the deposit log of consultations whose deadline passed.",
    )
)


def _receipt_signing_key(stdout: Any) -> None:
    from django.utils.translation import gettext

    from .receipt_pdf import ensure_signing_key

    created = ensure_signing_key()
    for path in created:
        stdout.write(gettext("Receipt signing: created %(path)s.") % {"path": path})
    if not created:
        stdout.write(gettext("Receipt signing: its key and certificate exist."))


# Created when missing, never replaced (a qualified certificate is the operator's act).
registry.declare_setup_step(
    registry.Step(
        "deposits.receipt_signing_key",
        46,
        _receipt_signing_key,
        _("create the receipt signing key and certificate if missing"),
    )
)
