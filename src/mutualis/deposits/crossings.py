"""Where the deposits context reads across companies, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py``."""

from __future__ import annotations

from datetime import datetime

from django_scopes import scopes_disabled

from mutualis.core.registry import crossing

# --- The deposit API (services.py) ---------------------------------------------------------


@crossing
def deposits_receiving_since(cutoff: datetime) -> list[tuple[int, int]]:
    """The deposits of every company still ``receiving`` that started before ``cutoff``,
    as (deposit, company) identifiers: the periodic job abandons them, each inside its
    company's scope."""
    from .models import Deposit, DepositState

    with scopes_disabled():
        return list(
            Deposit.for_company.filter(state=DepositState.RECEIVING, started_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", "company_id")
        )
