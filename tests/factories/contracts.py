"""Opened offers to award: acknowledged offer deposits written as rows (their files and
the opening's cryptography are the deposits context's tests), and the opening session
completed, as after the commission's opening."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.deposits.models import Deposit, DepositState, OpeningSession, Phase
from tests.factories.companies import company_siren, register_company, verified_person
from tests.factories.deposits_opening import pass_deadline

_numbers = itertools.count(1)


def bidder(number: int, name: str) -> Any:
    """A company (its administrator representative) with SIREN ``company_siren(number)``."""
    return register_company(
        verified_person(f"soumissionnaire{number}@entreprise.example"),
        siren=company_siren(number),
        name=name,
    )


def offer(
    consultation: Any, representative: Any, *, lot: Any = None, late: bool = False
) -> Deposit:
    """An acknowledged offer of ``representative``'s company (on time unless ``late``)."""
    number = next(_numbers)
    received_at = consultation.response_deadline + (
        timedelta(minutes=5) if late else -timedelta(hours=1)
    )
    with scopes_disabled():
        return Deposit.for_organisation.create(
            organisation_id=consultation.organisation_id,
            reference=f"D-C{consultation.pk}-{number:05d}",
            consultation=consultation,
            lot=lot,
            company_id=representative.company_id,
            user=representative.user,
            state=DepositState.ACKNOWLEDGED,
            idempotency_key=f"contracts-test-{number}",
            received_at=received_at,
            late=late,
            phase=Phase.OFFER,
        )


def open_offers(consultation: Any, buyer: Any) -> OpeningSession:
    """The deadline passed and the opening completed."""
    if consultation.response_deadline > timezone.now():
        pass_deadline(consultation)
    with scopes_disabled():
        return OpeningSession.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            started_by=buyer.user,
            completed_at=timezone.now(),
        )
