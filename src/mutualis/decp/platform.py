"""What the decp context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.files import anyone, register_owner
from mutualis.core.registry import Access

from . import bulk, receivers, tasks  # noqa: F401 - receivers connect on import
from .api import router as api_router

# /api/v1/decp…: open data, no authentication.
register_router("", api_router)

# The bulk files and each buyer's completeness, under /donnees-ouvertes/decp/: public.
registry.declare_routes(prefixes={"decp_public:": Access.PUBLIC, "decp:": Access.TENANT})
registry.declare_urls(registry.Urls("donnees-ouvertes/decp/", "mutualis.decp.public_urls"))
# The buyer's entries, under /o/<slug>/decp/: buyers and commission members.
registry.declare_urls(registry.Urls("decp/", "mutualis.decp.urls", tenant="o"))

# The bulk files are open data: anyone reads them through the file store's download view.
register_owner(bulk.OWNER_KIND, can_read=anyone, public=True)


def _consultation_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import views

    return views.consultation_section(request, consultation)


# On the buyer's page of a consultation, after the award and contracts (70).
registry.declare_consultation_section(
    registry.ConsultationSection(
        "decp_entries", "buyer", "decp/section_consultation.html", _consultation_section, 75
    )
)


def _contract_section(request: Any, contract: Any) -> dict[str, Any] | None:
    from . import views

    return views.contract_section(request, contract)


# On the buyer's page of a contract, after its record.
registry.declare_contract_section(
    registry.ContractSection("decp_entry", "decp/section_contract.html", _contract_section, 50)
)


def _directory_section(organisation: Any) -> dict[str, Any] | None:
    from . import views

    figures = views.public_figures(organisation)
    if not figures["figures"]["concerned"]:
        return None
    return figures


registry.declare_page_section(
    registry.PageSection("decp", "decp/section_directory.html", _directory_section, 30)
)


def _entries_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & {"buyer", "commission_member"}:
        return None
    return reverse("decp:entries", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(registry.MenuEntry("decp", _("Open data (DECP)"), _entries_url, 45))

registry.declare_periodic_job(
    registry.PeriodicJob(
        "decp_sweep_entries",
        tasks.sweep_entries,
        CronTrigger(hour=5, minute=10),
        "Generate the DECP entries a lost signal left missing, and the incomplete ones again.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "decp_remind_buyers",
        tasks.remind_buyers,
        CronTrigger(hour=7, minute=30),
        "Remind the buyers of the DECP entries due within 15 days, within 3 days, and late.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "decp_bulk_files",
        tasks.write_bulk_files,
        CronTrigger(hour=2, minute=15),
        "Write yesterday's DECP bulk file and the full file (gzip JSON, open data).",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "decp_push_to_portal",
        tasks.push_to_portal,
        IntervalTrigger(minutes=15),
        "Send the DECP entries ready to the national open-data portal, with back-off.",
    )
)
