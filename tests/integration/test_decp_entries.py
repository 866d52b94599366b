"""The DECP entries generated from the contracts' records after each ``contract_changed``,
the API's change feed and entry, the bulk files, and who sees what."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.contracts import records
from mutualis.core.models import AuditEvent
from mutualis.decp import bulk, entries, validation
from mutualis.decp.generation import due_on
from mutualis.decp.models import BulkFile, DecpEntry, Status
from mutualis.procurement.models import Consultation
from tests.factories.decp import notified_contract, with_siret

pytestmark = pytest.mark.django_db


def entry_of(contract) -> DecpEntry | None:
    with scopes_disabled():
        return DecpEntry.objects.filter(contract_id=contract.pk).first()


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_receipt_generates_a_valid_entry_and_an_amendment_appends_a_version(agent_a):
    contract = notified_contract(agent_a)
    entry = entry_of(contract)
    assert entry is not None
    assert entry.status == Status.READY
    assert entry.version == 1
    assert validation.schema_problems(entry.data) == []
    assert entry.data["id"] == contract.reference
    assert entry.data["acheteur"]["id"] == agent_a.organisation.siret
    assert entry.buyer_siren == agent_a.organisation.siren
    assert entry.due_on == due_on(entry.notified_on)
    # Idempotent: generating again changes nothing, not even the feed's position.
    before = entry.updated_at
    again = entries.refresh_entry(organisation_id=agent_a.organisation_id, contract_id=contract.pk)
    assert again.version == 1
    assert again.updated_at == before

    with TestCase.captureOnCommitCallbacks(execute=True):
        records.amend(
            actor=agent_a, contract_id=contract.pk, object="Travaux supplémentaires",
            notified_on=timezone.localdate(), new_amount="105000",
        )  # fmt: skip
    entry = entry_of(contract)
    assert entry.version == 2
    assert entry.data["montant"] == 98500
    assert entry.data["modifications"][0]["modification"]["montant"] == 105000
    assert validation.schema_problems(entry.data) == []
    with scopes_disabled():
        actions = list(
            AuditEvent.objects.filter(action__startswith="decp.").values_list("action", flat=True)
        )
    assert actions == ["decp.entry_generated", "decp.entry_generated"]


def test_below_the_threshold_no_entry(agent_a):
    contract = notified_contract(agent_a, amount="39999.99")
    assert entry_of(contract) is None


def test_an_invalid_entry_is_not_published_and_the_buyer_sees_what_to_fix(agent_a, agent_b):
    contract = notified_contract(agent_a, ccag="")
    entry = entry_of(contract)
    assert entry.status == Status.INCOMPLETE
    assert entry.data is None
    assert entry.version == 0
    assert [p["field"] for p in entry.problems] == ["ccag"]
    assert Client().get("/api/v1/decp").json()["marches"]["marche"] == []

    page = reverse("decp:entry", kwargs={"org": "commune-a", "contract_id": contract.pk})
    answer = client_of(agent_a.user).get(page)
    assert answer.status_code == 200
    assert "Choose the CCAG of reference on the consultation" in answer.content.decode()
    # Another member's agent: 404, nothing of the entry.
    assert client_of(agent_b.user).get(page).status_code == 404
    other = reverse("decp:entry", kwargs={"org": "commune-b", "contract_id": contract.pk})
    assert client_of(agent_b.user).get(other).status_code == 404

    # Fixed on the consultation: the daily sweep generates it again.
    with scopes_disabled():
        Consultation.objects.filter(pk=contract.award.consultation_id).update(ccag="works")
    from mutualis.decp import tasks

    assert tasks.sweep_entries.call() == 1
    entry = entry_of(contract)
    assert entry.status == Status.READY
    assert entry.version == 1


def test_the_api_feed_in_the_official_envelope_with_cursor_and_filters(agent_a, agent_b):
    first = notified_contract(agent_a, reference="A-1")
    second = notified_contract(agent_a, reference="A-2")
    other = notified_contract(agent_b, reference="B-1", holder_number=2)
    client = Client()
    page = client.get("/api/v1/decp", {"limit": 2}).json()
    assert list(validation.validator().iter_errors({"marches": page["marches"]})) == []
    assert [m["id"] for m in page["marches"]["marche"]] == ["A-1", "A-2"]
    assert page["has_more"] is True
    # A change while the mirror reads: the amended entry comes again, nothing skipped.
    with TestCase.captureOnCommitCallbacks(execute=True):
        records.amend(
            actor=agent_a, contract_id=first.pk, object="Prolongation",
            notified_on=timezone.localdate(), new_duration_months="30",
        )  # fmt: skip
    rest = client.get("/api/v1/decp", {"cursor": page["next_cursor"]}).json()
    assert [m["id"] for m in rest["marches"]["marche"]] == ["B-1", "A-1"]
    assert rest["marches"]["marche"][1]["modifications"][0]["modification"]["dureeMois"] == 30
    assert rest["has_more"] is False
    end = client.get("/api/v1/decp", {"cursor": rest["next_cursor"]}).json()
    assert end["marches"]["marche"] == []
    assert end["next_cursor"] == rest["next_cursor"]

    siret_b = with_siret(agent_b.organisation).siret
    only_b = client.get("/api/v1/decp", {"siret": siret_b}).json()
    assert [m["id"] for m in only_b["marches"]["marche"]] == ["B-1"]
    only_a = client.get("/api/v1/decp", {"siren": agent_a.organisation.siren}).json()
    assert {m["id"] for m in only_a["marches"]["marche"]} == {"A-1", "A-2"}

    one = client.get(f"/api/v1/decp/{siret_b}/B-1")
    assert one.status_code == 200
    assert one.json()["id"] == "B-1"
    assert client.get(f"/api/v1/decp/{siret_b}/A-1").status_code == 404
    assert second.reference == "A-2"
    assert other.reference == "B-1"


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"cursor": "forged"}, 400, "invalid_cursor"),
        ({"siret": "1234"}, 422, "invalid_parameters"),
        ({"siren": "12345678a"}, 422, "invalid_parameters"),
        ({"limit": "0"}, 422, "invalid_parameters"),
        ({"limit": "x" * 20000}, 400, None),
        ({"siret": "1234\x00"}, 400, None),
    ],
)
def test_bad_input_is_refused_with_the_api_error_shape(db, query, status, code):
    answer = Client().get("/api/v1/decp", query)
    assert answer.status_code == status
    body = answer.json()
    assert {"code", "field", "message"} <= body.keys()
    if code:
        assert body["code"] == code


def test_a_malformed_entry_address_is_refused(db):
    client = Client()
    assert client.get("/api/v1/decp/123/ABC").status_code == 422
    assert client.get("/api/v1/decp/12345678901234/" + "A" * 17).status_code == 422
    assert client.get("/api/v1/decp/12345678901234/A%20B").status_code == 422


def test_the_bulk_files_are_written_once_and_served_publicly(agent_a):
    contract = notified_contract(agent_a, reference="A-9")
    today = timezone.localdate()
    written = bulk.write_daily(today + timedelta(days=1))
    assert {f.kind for f in written} == {"day", "full"}
    assert bulk.write_daily(today + timedelta(days=1)) == []  # idempotent
    with scopes_disabled():
        full = BulkFile.objects.select_related("file").get(kind="full", day=today)
    answer = Client().get(full.file.get_absolute_url())
    assert answer.status_code == 200
    data = json.loads(gzip.decompress(b"".join(answer.streaming_content)))
    assert list(validation.validator().iter_errors(data)) == []
    assert [m["id"] for m in data["marches"]["marche"]] == [contract.reference]
    index = Client().get(reverse("decp_public:index"))
    assert index.status_code == 200
    assert full.file.original_name in index.content.decode()


def test_the_buyer_pages_and_the_consultation_section(agent_a, outsider):
    contract = notified_contract(agent_a)
    listing = reverse("decp:entries", kwargs={"org": "commune-a"})
    answer = client_of(agent_a.user).get(listing)
    assert answer.status_code == 200
    assert contract.reference in answer.content.decode()
    consultation_page = reverse(
        "procurement:detail",
        kwargs={"org": "commune-a", "pk": contract.award.consultation_id},
    )
    page = client_of(agent_a.user).get(consultation_page)
    assert page.status_code == 200
    assert "Essential data (DECP)" in page.content.decode()
    huge = reverse("decp:entry", kwargs={"org": "commune-a", "contract_id": 10**30})
    assert client_of(agent_a.user).get(huge).status_code == 404
    assert Client().get("/donnees-ouvertes/decp/%00/").status_code == 400  # refused at the edge
    assert Client().get("/donnees-ouvertes/decp/" + "a" * 300 + "/").status_code == 404
    # Someone with no membership: 404 (or the sign-in for an anonymous visitor).
    assert client_of(outsider).get(listing).status_code == 404
    assert Client().get(listing).status_code == 302
    with scope(organisation=agent_a.organisation_id):
        assert DecpEntry.objects.count() == 1


def test_the_operations_are_in_the_openapi_document(db):
    document = Client().get("/api/v1/openapi.json").json()
    assert document["paths"]["/api/v1/decp"]["get"]["tags"] == ["decp"]
    assert "/api/v1/decp/{siret}/{reference}" in document["paths"]


def test_the_feed_reads_one_query_whatever_the_page(agent_a, django_assert_num_queries):
    for n in range(3):
        notified_contract(agent_a, reference=f"Q-{n}")
    client = Client()
    with django_assert_num_queries(1):
        page = client.get("/api/v1/decp", {"limit": 2}).json()
    with django_assert_num_queries(1):
        client.get("/api/v1/decp", {"cursor": page["next_cursor"]})
