"""OCDS test helpers: the vendored schemas' validation, and a procedure awarded and
contracted through the services (as tests/integration/test_contracts_award.py does)."""

from __future__ import annotations

from typing import Any

from django_scopes import scopes_disabled

from mutualis.contracts import awards, records
from mutualis.contracts.models import Award
from mutualis.ocds import schemas
from mutualis.ocds.models import Release
from tests.factories.companies import company_siren, valid_siret
from tests.factories.contracts import bidder, offer, open_offers
from tests.factories.procurement import make_consultation


def assert_valid(data: Any, name: str) -> None:
    problems = schemas.errors(data, name)
    assert not problems, problems


def releases_of(consultation: Any) -> list[Release]:
    return list(Release.objects.filter(consultation_id=consultation.pk).order_by("pk"))


def bidders() -> tuple[Any, Any]:
    return bidder(1, "Menuiserie Dupont"), bidder(2, "Charpente Martin")


def published(buyer: Any, capture: Any, **kwargs: Any) -> Any:
    with capture(execute=True):
        return make_consultation(buyer, publish=True, procedure="open", **kwargs)


def opened_with_offers(consultation: Any, buyer: Any, companies: tuple[Any, ...]) -> None:
    open_offers(consultation, buyer)
    for company in companies:
        offer(consultation, company)


def award_first(buyer: Any, consultation: Any, companies: tuple[Any, ...], capture: Any) -> Award:
    with capture(execute=True):
        award = awards.decide(
            actor=buyer, consultation_id=consultation.pk, lot_id=None, outcome="awarded",
            company_id=companies[0].company_id, amount="98500", reasons="Meilleure offre",
        )  # fmt: skip
    with capture(execute=True):
        return awards.notify(actor=buyer, award_id=award.pk)


def sign(buyer: Any, award: Award, capture: Any) -> Any:
    with scopes_disabled():
        Award.objects.filter(pk=award.pk).update(standstill_ends_on=None)
    with capture(execute=True):
        return records.sign(
            actor=buyer, award_id=award.pk, reference="2027-001",
            holder_siret=valid_siret(company_siren(1)), amount="98500", duration_months=12,
            signed_on=awards.paris_today(),
        )  # fmt: skip
