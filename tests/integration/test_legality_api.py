"""The legality API for the members' software: acts created, sent and read by an API
client bound to the member, with its scopes, and nothing of another member."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django_scopes import scope, scopes_disabled

from mutualis.core.models import AuditEvent
from mutualis.identity.models import ApiClient
from mutualis.legality import services
from mutualis.legality.models import Act, ActStatus
from tests.factories.legality import legality_agent, prepare, subscribe
from tests.factories.legality_api import create, member, member_b, software, token_for

__all__ = ["member", "member_b", "software"]

pytestmark = pytest.mark.django_db


def events(org, action):
    with scopes_disabled():
        return list(AuditEvent.objects.filter(chain=f"org:{org.pk}", action=action))


def test_software_creates_sends_and_reads_an_act(client, member, software):
    client_id, headers = software

    created = create(client, headers)

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "prepared"
    assert body["number"] == "DEL_2026_101"
    assert body["annexes"][0]["piece_type"] == "99_AU"
    assert len(body["document"]["sha256"]) == 64
    [event] = events(member, "legality.act_prepared")
    assert event.actor == f"system:api_client:{client_id}"

    sent = client.post(f"/api/v1/legality/acts/{body['id']}/send", **headers)

    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "waiting"
    assert sent.json()["identifier"].startswith("021-212100108-20260115-DEL_2026_101-DE")
    listed = client.get("/api/v1/legality/acts", {"status": "waiting"}, **headers).json()
    assert [a["id"] for a in listed["results"]] == [body["id"]]
    assert listed["total"] == 1
    document = client.get(f"/api/v1/legality/acts/{body['id']}/document", **headers)
    assert document.status_code == 200
    assert b"".join(document.streaming_content).startswith(b"%PDF-")


def test_the_same_number_again_answers_409_with_the_act_and_creates_nothing(
    client, member, software
):
    _, headers = software
    first = create(client, headers).json()

    again = create(client, headers, subject="Autre objet")

    assert again.status_code == 409
    assert again.json()["id"] == first["id"]
    assert again.json()["subject"] == "Attribution du marché de voirie"
    with scopes_disabled():
        assert Act.objects.filter(organisation=member).count() == 1


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"number": "del 1"}, "legality_number_invalid"),
        ({"classification": "9.9.9"}, "legality_classification_invalid"),
        ({"decided_on": "2099-01-01"}, "legality_decision_in_future"),
        ({"annex_piece_types": []}, "annex_piece_types_mismatch"),
        ({"annex_piece_types": ["XX_XX"]}, "legality_piece_type_invalid"),
        ({"subject": "a\x00b"}, "control_character"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(client, member, software, changes, code):
    _, headers = software

    response = create(client, headers, **changes)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    with scopes_disabled():
        assert not Act.objects.filter(organisation=member).exists()


def test_a_file_that_is_not_a_pdf_is_refused(client, member, software):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, headers = software
    response = create(
        client, headers, document=SimpleUploadedFile("acte.pdf", b"MZ\x90\x00 not a pdf")
    )
    assert response.status_code == 400
    assert response.json()["field"] == "document"


def test_a_missing_document_is_422(client, member, software):
    _, headers = software
    response = create(client, headers, document=None)
    assert response.status_code == 422


def test_a_refused_sending_says_every_reason(client, member, software, settings):
    _, headers = software
    act_id = create(client, headers).json()["id"]
    with scopes_disabled():
        Act.objects.filter(pk=act_id).update(nature=4)
        from mutualis.legality.models import Enrolment

        Enrolment.objects.filter(organisation=member).update(natures=[1])

    response = client.post(f"/api/v1/legality/acts/{act_id}/send", **headers)

    assert response.status_code == 400
    assert response.json()["code"] == "legality_act_refused"
    with scopes_disabled():
        assert Act.objects.get(pk=act_id).status == ActStatus.PREPARED


def test_a_read_only_token_reads_but_cannot_write(client, member):
    _, headers = token_for(client, organisation=member, scopes=("api:read",))

    assert client.get("/api/v1/legality/acts", **headers).status_code == 200
    response = create(client, headers)

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_without_a_token_nothing_is_answered(client, member):
    assert client.get("/api/v1/legality/acts").status_code == 401
    assert create(client, {}).status_code == 401


def test_another_members_acts_are_not_found(client, member, member_b, agent_a, software):
    clerk = legality_agent(member, "clerk.a@example.org", roles=("legality_agent",))
    own = prepare(clerk, number="DEL_A_1")
    _, headers_b = token_for(client, organisation=member_b)

    assert client.get(f"/api/v1/legality/acts/{own.pk}", **headers_b).status_code == 404
    assert client.post(f"/api/v1/legality/acts/{own.pk}/send", **headers_b).status_code == 404
    assert client.get(f"/api/v1/legality/acts/{own.pk}/document", **headers_b).status_code == 404
    assert client.get("/api/v1/legality/acts", **headers_b).json()["total"] == 0
    with scopes_disabled():
        assert Act.objects.get(pk=own.pk).status == ActStatus.PREPARED

    # The same number at another member is another act.
    assert create(client, headers_b, number="DEL_A_1").status_code == 201


def test_a_member_without_the_subscription_cannot_create(client, member, software):
    _, headers = software
    subscribe(member, active=False)

    response = create(client, headers)

    assert response.status_code == 400
    assert response.json()["code"] == "service_not_subscribed"
    assert client.get("/api/v1/legality/acts", **headers).status_code == 200


def test_a_deactivated_client_is_refused(client, member, software):
    client_id, headers = software
    ApiClient.objects.filter(client_id=client_id).update(is_active=False)

    assert create(client, headers).status_code == 401


def test_a_company_client_has_no_acts(client, db):
    from tests.factories.companies import company_siren, register_company, verified_person

    company = register_company(
        verified_person("gerant@example.org"), siren=company_siren(3)
    ).company
    _, headers = token_for(client, company=company)

    response = client.get("/api/v1/legality/acts", **headers)

    assert response.status_code == 403


def test_the_acknowledgement_and_stamped_files_are_read(
    client, member, software, django_capture_on_commit_callbacks
):
    _, headers = software
    act_id = create(client, headers).json()["id"]
    client.post(f"/api/v1/legality/acts/{act_id}/send", **headers)
    with scopes_disabled():
        Act.objects.filter(pk=act_id).update(
            status=ActStatus.SENT, sent_at=datetime(2026, 2, 3, 15, 0, tzinfo=UTC)
        )
        identifier = Act.objects.get(pk=act_id).identifier
    assert client.get(f"/api/v1/legality/acts/{act_id}/stamped", **headers).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        services.acknowledge_act(
            organisation_id=member.pk, identifier=identifier, received_on=date(2026, 2, 4)
        )

    body = client.get(f"/api/v1/legality/acts/{act_id}", **headers).json()
    assert body["status"] == "acknowledged"
    assert body["received_on"] == "2026-02-04"
    stamped = client.get(f"/api/v1/legality/acts/{act_id}/stamped", **headers)
    assert stamped.status_code == 200
    assert stamped["Content-Type"] == "application/pdf"
    assert body["stamped"]["sha256"]
    slip = client.get(f"/api/v1/legality/acts/{act_id}/slip", **headers)
    assert slip.status_code == 200
    with scope(organisation=member.pk):
        assert Act.objects.get(pk=act_id).slip.sha256 == body["slip"]["sha256"]


def test_the_operations_are_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    assert "post" in paths["/api/v1/legality/acts"]
    assert "multipart/form-data" in paths["/api/v1/legality/acts"]["post"]["requestBody"]["content"]
    assert {"get"} <= set(paths["/api/v1/legality/acts/{act_id}"])
    assert "post" in paths["/api/v1/legality/acts/{act_id}/send"]
    assert (
        "application/pdf"
        in (paths["/api/v1/legality/acts/{act_id}/stamped"]["get"]["responses"]["200"]["content"])
    )
    assert "post" in paths["/api/v1/legality/webhooks"]


def test_a_create_racing_another_with_the_same_number_answers_409(
    client, member, software, monkeypatch
):
    from mutualis.legality import api, errors

    _, headers = software
    real = api._prepare

    def racing(*args, **kwargs):
        real(*args, **kwargs)  # the other request commits first…
        raise errors.NumberTaken()  # …and this one meets its number

    monkeypatch.setattr(api, "_prepare", racing)

    response = create(client, headers)

    assert response.status_code == 409
    assert response.json()["number"] == "DEL_2026_101"


def test_listing_acts_costs_the_same_queries_whatever_their_number(
    client, member, software, django_assert_max_num_queries
):
    _, headers = software
    for n in range(1, 6):
        create(client, headers, number=f"DEL_{n}")

    # The token and its client, the count, the page, its annexes and its stamps.
    with django_assert_max_num_queries(6):
        body = client.get("/api/v1/legality/acts", **headers).json()

    assert body["total"] == 5
    assert all(len(a["annexes"]) == 1 for a in body["results"])
