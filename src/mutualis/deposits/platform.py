"""What the deposits context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.interval import IntervalTrigger

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.registry import Access

# --- The deposit API and the buyer's deposit register (deposit-api) ----------------------
from . import tasks as deposit_tasks
from .api import router as deposit_api_router

# /api/v1/deposits…: a company's representatives (session) or API clients (bearer).
register_router("", deposit_api_router)

# The buyer's deposit register, under /o/<slug>/deposits/: buyers and commission members.
registry.declare_routes(prefixes={"deposit_register:": Access.TENANT})
registry.declare_urls(registry.Urls("deposits/", "mutualis.deposits.register_urls", tenant="o"))


registry.declare_periodic_job(
    registry.PeriodicJob(
        "abandon_stale_deposits",
        deposit_tasks.abandon_stale_deposits,
        IntervalTrigger(hours=1),
        "Mark abandoned the deposits left receiving for 24 hours; delete their partial files.",
    )
)


def _register_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import register_views

    return register_views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposit_register", "buyer", "deposits/section_register.html", _register_section, 50
    )
)

# --- Deposit page (company side; deposit-page) --------------------------------------------

registry.declare_routes(
    prefixes={
        # A company's deposit page for a consultation, under /c/<siren>/deposits/: its
        # representatives only; its deposits only.
        "company_deposits:": Access.TENANT,
    }
)
registry.declare_urls(registry.Urls("deposits/", "mutualis.deposits.company_urls", tenant="c"))


def _respond_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import company_views

    return company_views.public_section(request, consultation)


# "Respond electronically" on the public page of a consultation: server time, deadline,
# and the deposit page of each company the signed-in person represents.
registry.declare_consultation_section(
    registry.ConsultationSection(
        "deposits_respond", "public", "deposits/company_section_respond.html", _respond_section, 10
    )
)
