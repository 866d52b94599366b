"""What the contracts context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.files import register_owner
from mutualis.core.registry import Access

from . import archive, letters
from . import tasks as contract_tasks
from .api import router as contracts_api_router

# /api/v1/awards…, /api/v1/contracts…: public reads, writes by the member's API clients.
register_router("", contracts_api_router)

# The buyer's award and contract pages, under /o/<slug>/contracts/: buyers act,
# commission members read.
registry.declare_routes(prefixes={"contracts:": Access.TENANT, "company_contracts:": Access.TENANT})
registry.declare_urls(registry.Urls("contracts/", "mutualis.contracts.urls", tenant="o"))
# A company's letters and contracts, under /c/<siren>/contracts/: its representatives.
registry.declare_urls(registry.Urls("contracts/", "mutualis.contracts.company_urls", tenant="c"))

# Letters are served only through each side's own page (the company's reads recorded).
register_owner(letters.OWNER_KIND, can_read=letters.nobody_reads)
# Archive packages and exports: served only through the buyer's pages.
register_owner(archive.OWNER_KIND, can_read=archive.nobody_reads)

registry.declare_periodic_job(
    registry.PeriodicJob(
        "purge_past_retention",
        contract_tasks.purge_past_retention,
        CronTrigger(hour=3, minute=40),
        "Purge the files of the applications and tenders not retained, past the retention "
        "period (PROCUREMENT_RETENTION_YEARS from the procedure's end); audited.",
    )
)


def _awards_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import views

    return views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection(
        "contracts_awards", "buyer", "contracts/section_awards.html", _awards_section, 70
    )
)


def _company_url(request: Any) -> str | None:
    representation = getattr(request, "representation", None)
    if representation is None:
        return None
    return reverse("company_contracts:home", kwargs={"company": representation.company.siren})


registry.declare_menu_entry(
    registry.MenuEntry("company_contracts", _("Letters and contracts"), _company_url, 40)
)


def _seed_journeys(stdout: Any) -> None:
    from . import demo

    demo.seed_journeys(stdout)


# The demo's past procedures at every stage, after the consultations (40-49) and the
# bidders (31).
registry.declare_demo_step(registry.Step("contracts.journeys", 60, _seed_journeys))
