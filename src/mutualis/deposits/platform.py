"""What the deposits context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from mutualis.core import registry
from mutualis.core.registry import Access

# --- Deposit page (company side) ----------------------------------------------------------

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
