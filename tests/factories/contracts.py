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


def notified_contract(
    buyer: Any,
    consultation: Any,
    winner: Any,
    *,
    reference: str = "2027-001-A",
    amount: str = "98500",
    framework_maximum: str | None = None,
) -> Any:
    """The contract of ``winner``'s offer (already deposited and opened) through the
    services: decided, notified (a MAPA: no standstill), signed, sent, its receipt
    confirmed by ``winner``. Returns the contract."""
    from mutualis.contracts import awards, records
    from tests.factories.companies import valid_siret

    award = awards.decide(
        actor=buyer, consultation_id=consultation.pk, lot_id=None, outcome="awarded",
        company_id=winner.company_id, amount=amount, reasons="Offre la mieux classée.",
    )  # fmt: skip
    awards.notify(actor=buyer, award_id=award.pk)
    with scopes_disabled():
        siren = winner.company.siren
    contract = records.sign(
        actor=buyer, award_id=award.pk, reference=reference, holder_siret=valid_siret(siren),
        amount=amount, duration_months=24, signed_on=timezone.now().date(),
        framework_maximum=framework_maximum,
    )  # fmt: skip
    records.send_notification(actor=buyer, contract_id=contract.pk)
    return records.confirm_receipt(representative=winner, contract_id=contract.pk)


def closed_analysis(buyer: Any, consultation: Any, prices: dict[Any, tuple[str, str]]) -> Any:
    """The consultation's analysis (price 40, technical value 60) closed: per offer
    deposit, its price and the technical score (0 to 10)."""
    from django_scopes import scope

    from mutualis.evaluation import services
    from mutualis.evaluation.models import AnalysisCriterion, Offer

    analysis = services.open_analysis(actor=buyer, consultation_id=consultation.pk)
    with scope(organisation=buyer.organisation_id):
        offers = {o.deposit_id: o for o in Offer.objects.filter(analysis=analysis)}
        technical = AnalysisCriterion.objects.get(analysis=analysis, is_price=False)
    for deposit, (price, _score) in prices.items():
        services.set_price(
            actor=buyer, analysis_id=analysis.pk, offer_id=offers[deposit.pk].pk, price=price
        )
    services.start_scoring(actor=buyer, analysis_id=analysis.pk)
    for deposit, (_price, score) in prices.items():
        services.score_offer(
            actor=buyer, analysis_id=analysis.pk, offer_id=offers[deposit.pk].pk,
            scores={technical.pk: (score, "")},
        )  # fmt: skip
    return services.close_analysis(actor=buyer, analysis_id=analysis.pk)
