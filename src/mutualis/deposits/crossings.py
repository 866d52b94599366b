"""Where the deposits context reads across companies, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py``."""

from __future__ import annotations

from datetime import datetime

from django_scopes import scopes_disabled

from mutualis.core.registry import crossing

from .models import Deposit, DepositLogRoot, LogSection

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


# --- Proof: the public deposit log and the receipt PDF (log_sections, receipt_pdf) -------


@crossing
def consultations_to_close(*, deadline_before: datetime, limit: int) -> list[tuple[int, int]]:
    """The periodic job closes the deposit log of every member's consultations that take
    sealed deposits (an opening key) whose deadline passed and whose on-time section has
    no root yet: identifiers only; each is then read in its own member's scope."""
    from mutualis.procurement.models import PUBLIC_STATES, Consultation

    from .models import OpeningKey

    closed = DepositLogRoot.objects.filter(section=LogSection.ON_TIME).values("consultation_id")
    with scopes_disabled():
        keyed = OpeningKey.objects.values("consultation_id")
        return list(
            Consultation.objects.filter(
                state__in=PUBLIC_STATES, response_deadline__lte=deadline_before, pk__in=keyed
            )
            .exclude(pk__in=closed)
            .order_by("response_deadline", "pk")
            .values_list("pk", "organisation_id")[:limit]
        )


@crossing
def parties_of_deposit(deposit_id: int) -> tuple[int, int] | None:
    """A background job knows a deposit by its identifier only (the signal's): the
    organisation and the company that hold it, to read it in their scopes."""
    with scopes_disabled():
        row = Deposit.for_organisation.filter(pk=deposit_id).values_list(
            "organisation_id", "company_id"
        )
        found = row.first()
    return (found[0], found[1]) if found is not None else None


# --- Availability evidence (availability.py) -----------------------------------------------


@crossing
def deadline_between(start: datetime, end: datetime) -> bool:
    """The probe job asks whether any member's published consultation (the test one
    aside) has its deadline in ``(start, end]``: a yes or no, nothing of which."""
    from mutualis.procurement.models import Consultation, State

    with scopes_disabled():
        return Consultation.objects.filter(
            state=State.PUBLISHED,
            is_test=False,
            response_deadline__gt=start,
            response_deadline__lte=end,
        ).exists()
