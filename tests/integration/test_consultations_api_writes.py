"""The consultations' API beyond the search: public files and notices of a published
consultation (never a draft or an offer phase); writes by the member's API client with
the ``procurement:write`` scope (draft, change, files, schedule, publish, rectify), each
through the buyer's form and service, audited, idempotent, isolated per member."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core import audit
from mutualis.core.models import ApiWrite, AuditEvent
from mutualis.procurement import services
from mutualis.procurement.models import Consultation, State
from tests.factories.legality_api import token_for
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db

SCOPES = ("api:read", "procurement:write")
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PE = b"MZ\x90\x00\x03" + b"\x00" * 200


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def software(client, buyer):
    return token_for(client, organisation=buyer.organisation, scopes=SCOPES)[1]


def send(client, method, path, body, headers, key="k-1"):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return getattr(client, method)(
        f"/api/v1{path}", data, content_type="application/json", **headers, **extra
    )


def draft_body(**changes):
    now = timezone.now().replace(second=0, microsecond=0)
    body = {
        "reference": "API-2027-01",
        "title": "Entretien des espaces verts",
        "object": "Tonte et taille des haies des parcs communaux.",
        "procedure": "adapted",
        "category": "services",
        "main_cpv": "77310000-6",
        "additional_cpv": ["77211500-7"],
        "questions_deadline": (now + timedelta(days=10)).isoformat(),
        "response_deadline": (now + timedelta(days=20)).isoformat(),
        "contact": "Service des marchés",
        "estimated_value": "40000.00",
    }
    body.update(changes)
    return body


def events(organisation_id, action):
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(
                chain=audit.organisation_chain(organisation_id), action=action
            )
        )


# --- Public reads ------------------------------------------------------------------------


def test_documents_and_notices_of_a_published_consultation(client, software, buyer):
    created = send(client, "post", "/consultations", draft_body(), software)
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    # A draft: neither its files nor its notices are public.
    assert client.get(f"/api/v1/consultations/{pk}/documents").status_code == 404
    assert client.get(f"/api/v1/consultations/{pk}/notices").status_code == 404

    upload = client.post(
        f"/api/v1/consultations/{pk}/documents",
        {"files": [SimpleUploadedFile("RC.pdf", PDF), SimpleUploadedFile("CCTP.pdf", PDF + b"2")]},
        HTTP_IDEMPOTENCY_KEY="k-2",
        **software,
    )
    assert upload.status_code == 201, upload.content
    assert [d["name"] for d in upload.json()] == ["RC.pdf", "CCTP.pdf"]
    assert upload.json()[0]["url"] is None  # not public yet
    published = send(client, "post", f"/consultations/{pk}/publish", {}, software, key="k-3")
    assert published.status_code == 200, published.content
    assert published.json()["state"] == "published"

    listed = client.get(f"/api/v1/consultations/{pk}/documents").json()
    assert listed["version"] == 1
    [rc, cctp] = listed["results"]
    assert rc["media_type"] == "application/pdf"
    assert rc["size"] == len(PDF)
    assert len(rc["sha256"]) == 64
    # The public download view, with ranges.
    part = client.get(rc["url"], HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == PDF[:4]

    later = (timezone.now() + timedelta(days=25)).replace(second=0, microsecond=0)
    rectified = send(
        client,
        "post",
        f"/consultations/{pk}/rectifications",
        {
            "summary": "Report de la date limite.",
            "title": "Entretien des parcs",
            "response_deadline": later.isoformat(),
            "withdraw": [cctp["id"]],
        },
        software,
        key="k-4",
    )
    assert rectified.status_code == 201, rectified.content
    assert rectified.json()["version"] == 2
    assert rectified.json()["deadlines_moved"] is True

    notices = client.get(f"/api/v1/consultations/{pk}/notices").json()
    assert [n["kind"] for n in notices["results"]] == ["publication", "rectification"]
    rectification = notices["results"][1]
    assert rectification["version"] == 2
    assert {c["field"] for c in rectification["changes"]} == {"title", "response_deadline"}
    assert rectification["documents_withdrawn"] == [cctp["id"]]
    assert [d["id"] for d in client.get(f"/api/v1/consultations/{pk}/documents").json()[
        "results"
    ]] == [rc["id"]]  # fmt: skip

    with scope(organisation=buyer.organisation_id):
        services.cancel_consultation(
            actor=buyer, consultation_id=pk, kind="discontinued", reason="Projet abandonné."
        )
    cancelled = client.get(f"/api/v1/consultations/{pk}/notices").json()
    assert cancelled["state"] == "cancelled"
    assert cancelled["results"][-1]["kind"] == "cancellation"
    assert cancelled["results"][-1]["summary"] == "Projet abandonné."
    assert cancelled["results"][-1]["cancellation_kind"] == "discontinued"


def test_an_offer_phase_and_unknown_ids_are_not_found(client, buyer):
    consultation = make_consultation(buyer, publish=True)
    with scopes_disabled():
        phase = Consultation.objects.create(
            organisation_id=buyer.organisation_id,
            parent=consultation,
            reference="PHASE-2",
            title="Phase des offres",
            object="x",
            procedure="restricted",
            category="works",
            main_cpv="45261000",
            questions_deadline=consultation.questions_deadline,
            response_deadline=consultation.response_deadline,
            contact="x",
            state=State.PUBLISHED,
        )
    for pk in (phase.pk, 2**31 - 2):
        assert client.get(f"/api/v1/consultations/{pk}/documents").status_code == 404
        assert client.get(f"/api/v1/consultations/{pk}/notices").status_code == 404
    answer = client.get(f"/api/v1/consultations/{consultation.pk}/documents").json()
    assert answer["results"] == []
    assert answer["archive_url"] is None


# --- Writes ------------------------------------------------------------------------------


def test_the_client_drafts_and_changes_a_consultation_as_the_buyer_would(client, software, buyer):
    first = send(client, "post", "/consultations", draft_body(), software)
    assert first.status_code == 201, first.content
    draft = first.json()
    assert draft["state"] == "draft"
    assert draft["url"] is None
    # Replayed: the same answer, nothing more.
    again = send(client, "post", "/consultations", draft_body(), software)
    assert again.status_code == 201
    assert again.json() == draft
    # The same key with another body: 409.
    other = send(client, "post", "/consultations", draft_body(title="Autre"), software)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    with scopes_disabled():
        assert Consultation.objects.filter(organisation=buyer.organisation).count() == 1
    [event] = events(buyer.organisation_id, "consultation.created")
    assert event.actor.startswith("system:api_client:")

    changed = send(
        client,
        "patch",
        f"/consultations/{draft['id']}",
        {"title": "Entretien des parcs", "estimated_value": None},
        software,
        key="k-2",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["title"] == "Entretien des parcs"
    with scopes_disabled():
        saved = Consultation.objects.get(pk=draft["id"])
    assert saved.estimated_value is None
    assert saved.additional_cpv == ["77211500"]  # kept
    assert saved.reference == "API-2027-01"
    [event] = events(buyer.organisation_id, "consultation.updated")
    assert "title" in event.payload["fields"]


def test_the_buyers_form_refuses_what_the_page_refuses(client, software, buyer):
    unknown_cpv = send(client, "post", "/consultations", draft_body(main_cpv="1"), software)
    assert unknown_cpv.status_code == 422
    assert unknown_cpv.json()["errors"][0]["field"] == "payload.main_cpv"
    body = draft_body()
    body["questions_deadline"], body["response_deadline"] = (
        body["response_deadline"],
        body["questions_deadline"],
    )
    inverted = send(client, "post", "/consultations", body, software, key="k-2")
    assert inverted.status_code == 422
    assert inverted.json()["errors"][0]["code"] == "questions_after_responses"
    choice = send(client, "post", "/consultations", draft_body(procedure="x"), software, key="k-3")
    assert choice.status_code == 422
    naive = draft_body(questions_deadline="2030-01-01T10:00:00")
    assert send(client, "post", "/consultations", naive, software, key="k-4").status_code == 422
    too_long = send(client, "post", "/consultations", draft_body(title="a" * 201), software)
    assert too_long.status_code == 422
    nul = send(client, "post", "/consultations", draft_body(title="a\x00b"), software)
    assert nul.status_code == 400
    not_utf8 = send(client, "post", "/consultations", b'{"title": "\xff"}', software)
    assert not_utf8.status_code in (400, 422)
    # A refused body leaves no claim: the key is free.
    assert not ApiWrite.objects.exists()
    with scopes_disabled():
        assert not Consultation.objects.exists()


def test_keys_are_checked_and_scoped_to_the_client(client, software, buyer):
    missing = send(client, "post", "/consultations", draft_body(), software, key=None)
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
    for key in ("é", "a" * 101, "a" * 10_000):
        invalid = send(client, "post", "/consultations", draft_body(), software, key=key)
        assert invalid.status_code == 400
        assert invalid.json()["code"] == "idempotency_key_invalid"
    assert send(client, "post", "/consultations", draft_body(), software).status_code == 201
    # Another client of the same member has keys of its own: same key, another draft.
    second = token_for(client, organisation=buyer.organisation, scopes=SCOPES)[1]
    answer = send(client, "post", "/consultations", draft_body(reference="API-2"), second)
    assert answer.status_code == 201
    assert ApiWrite.objects.filter(key="k-1").count() == 2


def test_a_claim_stuck_by_a_crash_is_released_after_its_lease(client, software, buyer):
    assert send(client, "post", "/consultations", draft_body(), software).status_code == 201
    # A worker killed mid-request left its claim pending.
    now = timezone.now()
    stuck = ApiWrite.objects.create(
        caller=ApiWrite.objects.get().caller,
        key="k-crash",
        operation="create_consultation",
        request_hash="0" * 64,
        created_at=now,
        lease_until=now + timedelta(minutes=5),
    )
    body = draft_body(reference="API-3")
    from mutualis.core.api import idempotency

    stuck.request_hash = idempotency.request_hash("create_consultation", None, body_of(body))
    stuck.save()
    busy = send(client, "post", "/consultations", body, software, key="k-crash")
    assert busy.status_code == 409
    assert busy.json()["code"] == "idempotency_key_in_use"
    ApiWrite.objects.filter(pk=stuck.pk).update(lease_until=now - timedelta(seconds=1))
    retried = send(client, "post", "/consultations", body, software, key="k-crash")
    assert retried.status_code == 201, retried.content
    assert retried.json()["reference"] == "API-3"
    stuck.refresh_from_db()
    assert stuck.status == 201
    assert stuck.lease_until is None


def body_of(body):
    """The request as the operation hashes it (the schema's values, defaults included)."""
    from mutualis.procurement.api_writes import ConsultationIn

    return ConsultationIn(**body).dict()


def test_documents_schedule_and_publication_follow_the_buyers_rules(client, software, buyer):
    pk = send(client, "post", "/consultations", draft_body(), software).json()["id"]
    refused = client.post(
        f"/api/v1/consultations/{pk}/documents",
        {"files": [SimpleUploadedFile("setup.pdf", PE)]},
        HTTP_IDEMPOTENCY_KEY="k-2",
        **software,
    )
    assert refused.status_code == 400, refused.content
    # Refused: the key is free again, and nothing was stored.
    assert not ApiWrite.objects.filter(key="k-2").exists()
    soon = timezone.now() + timedelta(days=1)
    late = timezone.now() + timedelta(days=15)  # after the deadline for questions
    too_late = send(
        client, "post", f"/consultations/{pk}/schedule", {"publish_at": late.isoformat()},
        software, key="k-3",
    )  # fmt: skip
    assert too_late.status_code == 400
    assert too_late.json()["code"] == "publication_time_invalid"
    scheduled = send(
        client, "post", f"/consultations/{pk}/schedule", {"publish_at": soon.isoformat()},
        software, key="k-4",
    )  # fmt: skip
    assert scheduled.status_code == 200, scheduled.content
    assert scheduled.json()["state"] == "scheduled"
    published = send(client, "post", f"/consultations/{pk}/publish", {}, software, key="k-5")
    assert published.json()["state"] == "published"
    assert published.json()["url"].endswith(f"/consultations/{pk}/")
    # Published: no longer a draft to change.
    changed = send(client, "patch", f"/consultations/{pk}", {"title": "x"}, software, key="k-6")
    assert changed.status_code == 400
    assert changed.json()["code"] == "consultation_not_editable"
    assert len(events(buyer.organisation_id, "consultation.published")) == 1


def test_other_members_scopes_and_companies_reach_nothing(client, buyer, org_b, software):
    consultation = make_consultation(buyer)
    subscribe_to_procurement(org_b)
    other = token_for(client, organisation=org_b, scopes=SCOPES)[1]
    path = f"/consultations/{consultation.pk}"
    assert send(client, "patch", path, {"title": "x"}, other).status_code == 404
    assert send(client, "post", f"{path}/publish", {}, other, key="k-2").status_code == 404
    # A token without procurement:write: 403; none: 401.
    writer = token_for(client, organisation=buyer.organisation, scopes=("api:write",))[1]
    refused = send(client, "post", f"{path}/publish", {}, writer, key="k-3")
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert send(client, "post", f"{path}/publish", {}, {}, key="k-4").status_code == 401
    with scopes_disabled():
        assert Consultation.objects.get(pk=consultation.pk).state == State.DRAFT


def test_a_client_over_its_rate_is_answered_429(client, settings, software):
    settings.MUTUALIS_API_RATE_PER_CLIENT = "1/m"
    send(client, "post", "/consultations", draft_body(), software)
    limited = send(client, "post", "/consultations", draft_body(), software, key="k-2")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0


def test_the_document_lists_the_new_operations(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert set(paths["/api/v1/consultations"]) == {"get", "post"}
    assert set(paths["/api/v1/consultations/{consultation_id}"]) == {"get", "patch"}
    assert set(paths["/api/v1/consultations/{consultation_id}/documents"]) == {"get", "post"}
    for tail in ("notices", "schedule", "publish", "rectifications"):
        assert f"/api/v1/consultations/{{consultation_id}}/{tail}" in paths


def test_only_one_retry_takes_over_a_stuck_claim():
    from mutualis.core.api import idempotency

    past = timezone.now() - timedelta(minutes=10)
    ApiWrite.objects.create(
        caller="client-1", key="k", operation="op", request_hash="h",
        created_at=past, lease_until=past,
    )  # fmt: skip
    claim = idempotency._claim("client-1", "k", "op", "h")
    assert isinstance(claim, ApiWrite)
    assert claim.lease_until > timezone.now()
    # The second retry finds the lease renewed by the first: busy.
    with pytest.raises(idempotency.KeyInUse):
        idempotency._claim("client-1", "k", "op", "h")
    with pytest.raises(idempotency.KeyReused):
        idempotency._claim("client-1", "k", "op", "other")


def test_the_contracts_answers_move_to_the_shared_table(buyer, org_b):
    """The data migration: a member's row becomes its one client's; a member with two
    clients keeps its rows under its own name; a stuck claim arrives with its lease over."""
    import importlib
    from types import SimpleNamespace

    from mutualis.identity.models import ApiClient

    migration = importlib.import_module(
        "mutualis.contracts.migrations.0004_move_api_writes_to_core"
    )
    one = token_for_id(buyer.organisation)
    token_for_id(org_b)
    token_for_id(org_b)
    created = timezone.now() - timedelta(days=1)
    old_rows = [
        SimpleNamespace(
            organisation_id=buyer.organisation_id, key="a", operation="add_order",
            request_hash="h1", status=201, response={"id": 1}, created_at=created,
        ),
        SimpleNamespace(
            organisation_id=org_b.pk, key="b", operation="add_order",
            request_hash="h2", status=0, response={}, created_at=created,
        ),
    ]  # fmt: skip

    class Old:
        class objects:
            @staticmethod
            def order_by(*_):
                return SimpleNamespace(iterator=lambda: iter(old_rows))

    models = {
        "contracts.ApiWrite": Old,
        "core.ApiWrite": ApiWrite,
        "identity.ApiClient": ApiClient,
    }
    fake = SimpleNamespace(get_model=lambda app, name: models[f"{app}.{name}"])
    migration.forward(fake, None)
    moved = {row.key: row for row in ApiWrite.objects.all()}
    assert moved["a"].caller == one
    assert moved["a"].response == {"id": 1}
    assert moved["b"].caller == f"organisation:{org_b.pk}"
    assert moved["b"].lease_until < timezone.now()


def token_for_id(organisation):
    from mutualis.identity import oidc_clients

    api_client, _secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Logiciel",
        scopes=list(SCOPES),
        grant_types=["client_credentials"],
        organisation_id=organisation.pk,
    )
    return api_client.pk
