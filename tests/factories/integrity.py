"""Procedures as the integrity job reads them, written as rows: published consultations
with chosen dates, companies, on-time offers, withdrawals, prices entered in an analysis
and awards. The services that make them are their contexts' and tested there; here only
the records the indicators read matter, and writing them directly keeps the tests quick."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.companies.models import Company
from mutualis.contracts.models import Award, AwardOutcome, AwardState
from mutualis.deposits.models import Deposit, DepositState, Phase
from mutualis.evaluation.models import Analysis, Offer
from mutualis.procurement.models import Consultation, Lot, State
from tests.factories.companies import company_siren

_numbers = itertools.count(1)


def company(n: int, name: str = "") -> Company:
    with scopes_disabled():
        found, _ = Company.objects.get_or_create(
            siren=company_siren(100 + n), defaults={"name": name or f"Entreprise {n}"}
        )
    return found


def procedure(
    organisation: Any,
    *,
    procedure: str = "open",
    category: str = "works",
    main_cpv: str = "45261000",
    published_at: datetime | None = None,
    days: int = 40,
    estimated_value: Decimal | None = None,
    lots: int = 0,
    parent: Any = None,
    state: str = State.CLOSED,
    title: str = "",
) -> Consultation:
    """A published consultation whose deadline is ``days`` after its publication (in
    the past unless ``published_at`` says otherwise)."""
    number = next(_numbers)
    published_at = published_at or timezone.now() - timedelta(days=days + 10)
    with scopes_disabled():
        consultation = Consultation.objects.create(
            organisation=organisation,
            reference=f"INT-{number:05d}",
            title=title or f"Marché {number}",
            object="Objet",
            procedure=procedure,
            category=category,
            main_cpv=main_cpv,
            estimated_value=estimated_value,
            questions_deadline=published_at + timedelta(days=max(days - 5, 0)),
            response_deadline=published_at + timedelta(days=days),
            contact="Service des marchés",
            state=state,
            published_at=published_at,
            parent=parent,
        )
        for n in range(1, lots + 1):
            Lot.objects.create(
                organisation=organisation, consultation=consultation, number=n, title=f"Lot {n}"
            )
    return consultation


def lot(consultation: Consultation, number: int) -> Lot:
    with scopes_disabled():
        return Lot.objects.get(consultation=consultation, number=number)


def offer(
    consultation: Consultation,
    bidder: Company,
    *,
    lot: Lot | None = None,
    late: bool = False,
    state: str = DepositState.ACKNOWLEDGED,
) -> Deposit:
    number = next(_numbers)
    with scopes_disabled():
        return Deposit.for_organisation.create(
            organisation_id=consultation.organisation_id,
            reference=f"I-{consultation.pk}-{number:05d}",
            consultation=consultation,
            lot=lot,
            company=bidder,
            state=state,
            idempotency_key=f"integrity-{number}",
            received_at=consultation.response_deadline
            + (timedelta(minutes=5) if late else -timedelta(hours=1)),
            late=late,
            phase=Phase.OFFER,
            withdrawn_at=(
                consultation.response_deadline - timedelta(days=1)
                if state == DepositState.WITHDRAWN
                else None
            ),
        )


def prices(consultation: Consultation, by: Any, *amounts: str, lot: Lot | None = None) -> Analysis:
    """An analysis of the lot whose offers (one company each) carry these prices."""
    with scopes_disabled():
        analysis = Analysis.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            lot=lot,
            created_by=by.user,
        )
    for amount in amounts:
        deposit = offer(consultation, company(next(_numbers) + 500), lot=lot)
        with scopes_disabled():
            Offer.objects.create(
                organisation_id=consultation.organisation_id,
                analysis=analysis,
                deposit=deposit,
                price=Decimal(amount),
            )
    return analysis


def award(
    consultation: Consultation,
    by: Any,
    winner: Company,
    *,
    lot: Lot | None = None,
    amount: str = "50000",
    state: str = AwardState.NOTIFIED,
    decided_at: datetime | None = None,
) -> Award:
    with scopes_disabled():
        deposit = Deposit.for_organisation.filter(
            consultation=consultation, lot=lot, company=winner
        ).first() or offer(consultation, winner, lot=lot)
        return Award.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            lot=lot,
            outcome=AwardOutcome.AWARDED,
            company=winner,
            offer=deposit,
            amount=Decimal(amount),
            reasons="Offre économiquement la plus avantageuse.",
            state=state,
            decided_at=decided_at or timezone.now() - timedelta(days=1),
            decided_by=by.user,
            abandoned_reason="Le titulaire pressenti s'est désisté."
            if state == AwardState.ABANDONED
            else "",
        )
