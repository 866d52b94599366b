"""Notified contracts for the DECP tests: the consultation through the procurement
services, the award and the contract written as rows (the award's and contract's own
rules are the contracts context's tests), then the holder's receipt confirmed through
``records.confirm_receipt``, whose ``contract_changed`` generates the entry."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.test import TestCase
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.contracts import records
from mutualis.contracts.models import Award, AwardOutcome, AwardState, Contract, ContractState
from tests.factories.companies import company_siren, valid_siret
from tests.factories.contracts import bidder, offer
from tests.factories.procurement import make_consultation, subscribe_to_procurement

_numbers = itertools.count(1)

# What a buyer records on a consultation for the DECP (procurement/vocabulary.py).
COMPLETE = {
    "procedure": "open",
    "ccag": "works",
    "price_types": ["firm"],
    "price_form": "lump_sum",
    "place_of_execution": "Dijon (21000)",
    "social_considerations": ["clause"],
}


def with_siret(organisation: Any) -> Any:
    """The buyer's SIRET recorded (its main establishment)."""
    if not organisation.siret:
        organisation.siret = valid_siret(organisation.siren)
        organisation.save(update_fields=["siret"])
    return organisation


def holder(number: int = 1) -> Any:
    """A holder company's representative: registered the first time in a test."""
    from mutualis.companies.models import Representative

    with scopes_disabled():
        rep = (
            Representative.objects.filter(company__siren=company_siren(number))
            .select_related("user", "company")
            .first()
        )
    return rep or bidder(number, f"Entreprise {number}")


def notified_contract(
    buyer: Any,
    *,
    amount: str = "98500",
    notified_at: datetime | None = None,
    reference: str | None = None,
    bidders: int = 3,
    holder_number: int = 1,
    **consultation: Any,
) -> Contract:
    """A contract of ``buyer``'s organisation, notified at ``notified_at`` (its receipt
    confirmed by the holder through the service)."""
    subscribe_to_procurement(buyer.organisation)
    with_siret(buyer.organisation)
    n = next(_numbers)
    reference = reference or f"2027-{n:03d}"
    c = make_consultation(
        buyer, publish=True, **{"reference": f"C-{reference}", **COMPLETE, **consultation}
    )
    rep = holder(holder_number)
    deposit = offer(c, rep)
    now = timezone.now()
    notified_at = notified_at or now
    with scopes_disabled():
        award = Award.objects.create(
            organisation_id=buyer.organisation_id,
            consultation=c,
            outcome=AwardOutcome.AWARDED,
            company_id=rep.company_id,
            offer=deposit,
            amount=Decimal(amount),
            reasons="Offre la mieux classée.",
            state=AwardState.CONTRACTED,
            decided_at=notified_at - timedelta(days=20),
            decided_by=buyer.user,
            notified_at=notified_at - timedelta(days=19),
            bidders=bidders,
        )
        contract = Contract.for_organisation.create(
            organisation_id=buyer.organisation_id,
            award=award,
            company_id=rep.company_id,
            reference=reference,
            holder_siret=valid_siret(company_siren(holder_number)),
            amount=Decimal(amount),
            duration_months=24,
            signed_on=(notified_at - timedelta(days=2)).date(),
            state=ContractState.SENT,
            notification_sent_at=notified_at - timedelta(days=1),
            created_by=buyer.user,
        )
    # As once committed: the receipt's ``contract_changed`` generates the entry.
    with TestCase.captureOnCommitCallbacks(execute=True):
        records.confirm_receipt(representative=rep, contract_id=contract.pk, now=notified_at)
    with scopes_disabled():
        return Contract.for_organisation.get(pk=contract.pk)
