"""An observatory's territory for tests: two buyers (the Côte-d'Or and the Doubs), companies
of every size and procedures at every stage, whose figures the tests know."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django_scopes import scopes_disabled

from mutualis.companies.models import Company, CompanyProfile
from mutualis.contracts.models import Award
from mutualis.deposits.models import Deposit, DepositState
from mutualis.procurement.models import Consultation, Lot
from tests.factories.companies import company_siren
from tests.factories.core import OrganisationFactory

_numbers = itertools.count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def consultation(org: Any, published: str | None, **fields: Any) -> Consultation:
    number = next(_numbers)
    published_at = at(published) if published else None
    values: dict[str, Any] = {
        "organisation": org,
        "reference": f"OBS-{number}",
        "title": f"Consultation {number}",
        "object": "Objet",
        "procedure": "adapted",
        "category": "works",
        "main_cpv": "45261000",
        "questions_deadline": (published_at or at("2025-01-01T00:00")) + timedelta(days=5),
        "response_deadline": (published_at or at("2025-01-01T00:00")) + timedelta(days=10),
        "contact": "Service des marchés",
        "state": "closed",
        "published_at": published_at,
        **fields,
    }
    with scopes_disabled():
        return Consultation.objects.create(**values)


def company(name: str, size: str | None, departement: Any) -> Company:
    number = next(_numbers)
    created = Company.objects.create(siren=company_siren(500 + number), name=name)
    if size is not None:
        with scopes_disabled():
            CompanyProfile.objects.create(company=created, size=size, main_departement=departement)
    return created


def award(
    c: Consultation,
    winner: Company,
    amount: str,
    *,
    bidders: int,
    days: int,
    lot: Lot | None = None,
    state: str = "notified",
) -> Award:
    number = next(_numbers)
    user = get_user_model().objects.get_or_create(email="acheteur@example.org")[0]
    with scopes_disabled():
        offer = Deposit.for_organisation.create(
            organisation_id=c.organisation_id,
            reference=f"D-OBS-{number}",
            consultation=c,
            lot=lot,
            company=winner,
            state=DepositState.ACKNOWLEDGED,
            idempotency_key=f"obs-{number}",
            received_at=c.response_deadline - timedelta(hours=1),
        )
        return Award.objects.create(
            organisation_id=c.organisation_id,
            consultation=c,
            lot=lot,
            outcome="awarded",
            company=winner,
            offer=offer,
            amount=Decimal(amount),
            reasons="Offre la mieux classée.",
            state=state,
            decided_at=c.published_at + timedelta(days=days - 1),
            decided_by=user,
            notified_at=c.published_at + timedelta(days=days) if state != "draft" else None,
            bidders=bidders,
        )


def build_territory() -> dict[str, Any]:
    """Two buyers (A in the Côte-d'Or, B in the Doubs), companies of every kind, and
    procedures at every stage; the expected figures are in the tests."""
    dep21 = OrganisationFactory(name="Côte-d'Or", kind="departement", insee_code="21")
    dep25 = OrganisationFactory(name="Doubs", kind="departement", insee_code="25")
    a = OrganisationFactory(name="Commune A", slug="commune-a", departement=dep21)
    b = OrganisationFactory(name="Commune B", slug="commune-b", departement=dep25)
    small = company("Petite entreprise", "small", dep21)
    large = company("Grande entreprise", "large", dep25)
    unknown = company("Entreprise sans profil", None, None)

    a1 = consultation(a, "2025-03-01T10:00", estimated_value=Decimal("100000"))
    award(a1, small, "90000", bidders=3, days=30)
    a2 = consultation(
        a, "2025-06-01T10:00", category="services", procedure="open", main_cpv="90910000",
        estimated_value=Decimal("50000"),
    )  # fmt: skip
    with scopes_disabled():
        lot1 = Lot.objects.create(organisation=a, consultation=a2, number=1, title="Lot 1")
        lot2 = Lot.objects.create(organisation=a, consultation=a2, number=2, title="Lot 2")
    award(a2, large, "20000", bidders=2, days=10, lot=lot1)
    award(a2, small, "25000", bidders=4, days=20, lot=lot2)
    # Published on the last evening of 2025 in UTC: 2026 in Paris. Open, no award yet.
    consultation(
        a, "2025-12-31T23:30", category="supplies", main_cpv="30200000", state="published",
        estimated_value=Decimal("40000"),
    )  # fmt: skip
    # Cancelled: counted, no amount.
    consultation(
        a, "2026-02-01T10:00", state="cancelled", cancellation_kind="discontinued",
        cancellation_reason="Projet abandonné.", cancelled_at=at("2026-02-20T10:00"),
        estimated_value=Decimal("70000"),
    )  # fmt: skip
    # A restricted procedure: its offer phase holds the award, counted under it.
    parent = consultation(
        a, "2025-09-01T10:00", procedure="restricted", estimated_value=Decimal("200000")
    )
    phase = consultation(
        a, "2025-10-01T10:00", procedure="restricted", parent=parent,
        estimated_value=Decimal("200000"),
    )  # fmt: skip
    phase_award = award(phase, unknown, "150000", bidders=5, days=1)
    with scopes_disabled():
        # 60 days after the parent's publication.
        Award.objects.filter(pk=phase_award.pk).update(
            notified_at=parent.published_at + timedelta(days=60)
        )
    # A decision not yet notified is not public: estimated value instead.
    a7 = consultation(a, "2025-10-01T10:00", category="services", estimated_value=Decimal("30000"))
    award(a7, small, "10000", bidders=2, days=20, state="draft")
    # Never counted: a draft, a scheduled one, the operator's test consultation.
    consultation(a, None, state="draft", estimated_value=Decimal("999"))
    consultation(a, None, state="scheduled", estimated_value=Decimal("999"))
    consultation(a, "2025-04-01T10:00", state="published", is_test=True)

    b1 = consultation(b, "2025-05-01T10:00", estimated_value=Decimal("80000"))
    award(b1, small, "60000", bidders=1, days=50)
    return {"a": a, "b": b}
