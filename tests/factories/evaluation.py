"""Consultations whose offers are opened, ready for their analysis: the deposit rows and
a completed opening session are written directly (the deposit and opening services are
the deposits context's, tested there; ``test_evaluation_opening.py`` goes through them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.deposits.models import Deposit, DepositState, OpeningSession
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.procurement import make_consultation, subscribe_to_procurement

_counter = iter(range(1, 10**9))


def bidder(n: int, name: str) -> Any:
    """A representative of a verified company (its SIREN numbered ``n``)."""
    return register_company(
        verified_person(f"offres{n}@entreprise{n}.example"), siren=company_siren(n), name=name
    )


def offer(
    consultation: Any,
    representative: Any,
    *,
    late: bool = False,
    lot: Any = None,
    state: str = DepositState.ACKNOWLEDGED,
    phase: str = "offer",
) -> Deposit:
    number = next(_counter)
    received = consultation.response_deadline + (
        timedelta(minutes=5) if late else -timedelta(hours=1, minutes=number)
    )
    with scopes_disabled():
        return Deposit.for_organisation.create(
            organisation_id=consultation.organisation_id,
            reference=f"E-{consultation.pk}-{number:05d}",
            consultation=consultation,
            lot=lot,
            company_id=representative.company_id,
            user=representative.user,
            state=state,
            idempotency_key=f"evaluation-{number}",
            received_at=received,
            late=late,
            phase=phase,
        )


def complete_opening(consultation: Any, by: Any) -> OpeningSession:
    with scopes_disabled():
        return OpeningSession.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            started_by=by.user,
            completed_at=timezone.now(),
        )


def opened_consultation(buyer: Any, **kwargs: Any) -> Any:
    """A published consultation of ``buyer``'s organisation (price 40, technical value 60
    unless ``criteria`` says otherwise); its offers are added with ``offer`` and its
    opening completed with ``complete_opening``."""
    subscribe_to_procurement(buyer.organisation)
    return make_consultation(buyer, publish=True, **kwargs)
