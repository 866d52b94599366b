"""The API of awards and contracts: public reads of what was notified (nothing of a draft,
no rejected bidder's amount), cursor feeds; writes by the member's API client with an
Idempotency-Key, isolated per member, rate-limited."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.contracts import awards
from mutualis.contracts.models import Amendment, Contract, Order
from mutualis.core import audit
from mutualis.core.models import AuditEvent
from tests.factories.companies import company_siren, valid_siret
from tests.factories.contracts import bidder, notified_contract, offer, open_offers
from tests.factories.legality_api import token_for
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def companies():
    return bidder(1, "Menuiserie Dupont"), bidder(2, "Charpente Martin")


@pytest.fixture
def consultation(buyer, companies):
    consultation = make_consultation(buyer, publish=True, techniques=["framework"])
    open_offers(consultation, buyer)
    offer(consultation, companies[0])
    offer(consultation, companies[1])
    return consultation


@pytest.fixture
def contract(buyer, consultation, companies):
    return notified_contract(
        buyer, consultation, companies[0], amount="50000", framework_maximum="100000"
    )


def post(client, path, body, headers, key="k-1"):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **headers, **extra
    )


def test_the_public_feeds_show_notified_decisions_and_contracts_only(
    client, buyer, consultation, companies
):
    award = awards.decide(
        actor=buyer, consultation_id=consultation.pk, lot_id=None, outcome="awarded",
        company_id=companies[0].company_id, amount="50000", reasons="Motifs confidentiels.",
    )  # fmt: skip
    # A draft: nowhere.
    assert client.get("/api/v1/awards/changes").json()["results"] == []
    assert client.get(f"/api/v1/awards/{award.pk}").status_code == 404
    awards.notify(actor=buyer, award_id=award.pk)
    feed = client.get("/api/v1/awards/changes").json()
    [row] = feed["results"]
    assert row["winner"] == {"siren": company_siren(1), "name": "Menuiserie Dupont"}
    assert row["amount"] == "50000.00"
    assert row["reasons"] is None  # the rejection reasons are each bidder's own
    assert row["offers_received"] == 2
    assert "Charpente Martin" not in json.dumps(feed)
    # Read again from its cursor: nothing new.
    again = client.get("/api/v1/awards/changes", {"cursor": feed["next_cursor"]}).json()
    assert again["results"] == []
    assert again["next_cursor"] == feed["next_cursor"]
    assert client.get("/api/v1/awards/changes", {"cursor": "forged"}).status_code == 400
    assert client.get("/api/v1/contracts/changes").json()["results"] == []


def test_a_contract_is_public_once_its_receipt_is_confirmed(client, contract):
    [row] = client.get("/api/v1/contracts/changes").json()["results"]
    assert row["reference"] == "2027-001-A"
    assert row["holder_siret"] == valid_siret(company_siren(1))
    assert row["framework_maximum"] == "100000.00"
    assert client.get(f"/api/v1/contracts/{contract.pk}").json()["id"] == contract.pk
    assert client.get("/api/v1/contracts/99999").status_code == 404


def test_the_members_client_records_amendments_and_orders_idempotently(
    client, buyer, contract, django_capture_on_commit_callbacks
):
    _, headers = token_for(client, organisation=buyer.organisation)
    today = timezone.now().date().isoformat()
    body = {"object": "Travaux supplémentaires", "notified_on": today, "new_amount": "55000.00"}
    first = post(client, f"/contracts/{contract.pk}/amendments", body, headers)
    assert first.status_code == 201, first.content
    assert first.json()["number"] == 1
    again = post(client, f"/contracts/{contract.pk}/amendments", body, headers)
    assert again.status_code == 201
    assert again.json() == first.json()
    other = post(
        client, f"/contracts/{contract.pk}/amendments", {**body, "object": "Autre"}, headers
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    with scopes_disabled():
        assert Amendment.for_organisation.filter(contract=contract).count() == 1
        event = AuditEvent.objects.get(
            chain=audit.organisation_chain(buyer.organisation_id),
            action="contracts.amendment_added",
        )
        assert event.actor.startswith("system:api_client:")
    # The contract moved in the public feed.
    [row] = client.get("/api/v1/contracts/changes").json()["results"]
    assert row["amendments"][0]["new_amount"] == "55000.00"

    order = {"number": "BC-1", "issued_on": today, "object": "Fournitures", "amount": "90000"}
    answer = post(client, f"/contracts/{contract.pk}/orders", order, headers, key="k-2")
    assert answer.status_code == 201, answer.content
    assert answer.json()["ordered_total"] == "90000.00"
    over = post(
        client, f"/contracts/{contract.pk}/orders", {**order, "number": "BC-2"}, headers, key="k-3"
    )
    assert over.status_code == 400
    assert over.json()["code"] == "framework_maximum_exceeded"
    # A refused request frees its key: corrected, it goes through.
    fixed = {**order, "number": "BC-2", "amount": "10000"}
    assert (
        post(client, f"/contracts/{contract.pk}/orders", fixed, headers, key="k-3").status_code
        == 201
    )
    with scopes_disabled():
        assert Order.for_organisation.filter(contract=contract).count() == 2


def test_the_client_signs_the_contract_of_an_award(client, buyer, consultation, companies):
    award = awards.decide(
        actor=buyer, consultation_id=consultation.pk, lot_id=None, outcome="awarded",
        company_id=companies[0].company_id, amount="50000", reasons="Motifs.",
    )  # fmt: skip
    awards.notify(actor=buyer, award_id=award.pk)
    _, headers = token_for(client, organisation=buyer.organisation)
    body = {
        "reference": "API-1", "holder_siret": valid_siret(company_siren(1)), "amount": "50000",
        "duration_months": 12, "signed_on": timezone.now().date().isoformat(),
    }  # fmt: skip
    answer = post(client, f"/awards/{award.pk}/contract", body, headers)
    assert answer.status_code == 201, answer.content
    assert answer.json()["state"] == "signed"
    assert post(client, f"/awards/{award.pk}/contract", body, headers).json() == answer.json()
    with scopes_disabled():
        contract = Contract.for_organisation.get(reference="API-1")
        assert contract.created_by is None
    # Not yet notified: not public.
    assert client.get(f"/api/v1/contracts/{contract.pk}").status_code == 404


def test_bad_requests_are_refused_clearly(client, buyer, contract):
    _, headers = token_for(client, organisation=buyer.organisation)
    path = f"/contracts/{contract.pk}/amendments"
    body = {"object": "x", "notified_on": "2020-01-01", "new_duration_months": 3}
    missing = post(client, path, body, headers, key=None)
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
    invalid = post(client, path, body, headers, key="é")
    assert invalid.status_code == 400
    assert post(client, path, {**body, "object": "a" * 1001}, headers).status_code == 422
    assert post(client, path, {**body, "new_duration_months": 0}, headers).status_code == 422
    assert post(client, "/contracts/0/amendments", body, headers).status_code == 422
    nul = post(client, path, {**body, "object": "a\x00b"}, headers)
    assert nul.status_code == 400
    # No token: 401; a read-only token: 403.
    assert post(client, path, body, {}).status_code == 401
    _, read_only = token_for(client, organisation=buyer.organisation, scopes=("api:read",))
    assert post(client, path, body, read_only).status_code == 403


def test_other_members_and_companies_clients_reach_nothing(client, contract, org_b, companies):
    subscribe_to_procurement(org_b)
    _, other = token_for(client, organisation=org_b)
    body = {"number": "BC-1", "issued_on": "2020-01-01", "object": "x", "amount": "1"}
    answer = post(client, f"/contracts/{contract.pk}/orders", body, other)
    assert answer.status_code == 404
    with scopes_disabled():
        company = companies[0].company
    _, holder = token_for(client, company=company)
    assert post(client, f"/contracts/{contract.pk}/orders", body, holder).status_code == 403
    with scopes_disabled():
        assert not Order.for_organisation.exists()


def test_a_client_over_its_rate_is_answered_429(client, settings, buyer, contract):
    settings.MUTUALIS_API_RATE_PER_CLIENT = "1/m"
    _, headers = token_for(client, organisation=buyer.organisation)
    body = {"object": "x", "notified_on": timezone.now().date().isoformat(), "new_amount": "1"}
    post(client, f"/contracts/{contract.pk}/amendments", body, headers)
    limited = post(client, f"/contracts/{contract.pk}/amendments", body, headers, key="k-2")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
