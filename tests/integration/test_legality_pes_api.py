"""The PES part of the legality API for the members' finance software: a PES_Aller
posted (the agents' import: checked, stored, its signatures verified), its status and
the treasury's acknowledgement element by element, the member's flows listed; refusals
with what to fix and nothing kept; a retry imports nothing twice; another member's
client finds nothing; and every status change of a flow, and every return received,
told to the member's webhooks."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scopes_disabled
from lxml import etree

from mutualis.core import files as file_store
from mutualis.core.models import AuditEvent, StoredFile
from mutualis.legality import webhooks
from mutualis.legality.models import WebhookDelivery
from mutualis.legality.pes import samples, sending, standin, xades
from mutualis.legality.pes.models import PES_OWNER_KIND, FlowStatus, PesFlow
from tests.factories.legality import subscribe
from tests.factories.legality_api import receiver, token_for
from tests.factories.pes import OTHER_SIRET, SIRET, signed_flow

__all__ = ["receiver"]

pytestmark = pytest.mark.django_db

FLOWS = "/api/v1/legality/pes/flows"


@pytest.fixture
def software(client, pes_member):
    return token_for(client, organisation=pes_member)


def post(client, headers, data: bytes, name: str = "PES_ALR.xml"):
    return client.post(
        FLOWS, {"file": SimpleUploadedFile(name, data, "application/xml")}, **headers
    )


def all_flows() -> list[PesFlow]:
    with scopes_disabled():
        return list(PesFlow.objects.order_by("pk"))


def pes_files() -> int:
    return StoredFile.objects.filter(owner_kind=PES_OWNER_KIND).count()


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="legality.pes")
            .order_by("pk")
            .values_list("action", flat=True)
        )


def read(stored) -> bytes:
    with file_store.open_stored_file(stored) as handle:
        return handle.read()


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Posting a flow --------------------------------------------------------------------


def test_software_posts_a_signed_flow_and_reads_it(client, pes_member, pes_signer, software):
    client_id, headers = software
    data = signed_flow(pes_signer, bordereaux=(101, 102))

    response = post(client, headers, data)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "signed"
    assert body["id_coll"] == SIRET
    assert "depense" in body["domains"]
    assert (body["bordereaux"], body["dematerialised"]) == (2, True)
    assert len(body["signatures"]) == 2
    assert all(s["signer"] and s["version"] == "1.1.1" for s in body["signatures"])
    assert body["acknowledgement"] is None
    assert body["file"]["size"] == len(data)
    [flow] = all_flows()
    assert flow.pk == body["id"]
    assert read(flow.file) == data
    assert actions(pes_member) == ["legality.pes_imported", "legality.pes_signed"]
    with scopes_disabled():
        event = AuditEvent.objects.get(action="legality.pes_imported")
    assert event.actor == f"system:api_client:{client_id}"

    listed = client.get(FLOWS, **headers).json()
    assert listed["total"] == 1
    assert [f["id"] for f in listed["results"]] == [flow.pk]
    assert client.get(FLOWS, {"status": "sent"}, **headers).json()["total"] == 0
    one = client.get(f"{FLOWS}/{flow.pk}", **headers)
    assert one.status_code == 200
    assert one.json()["nomfic"] == flow.nomfic
    raw = client.get(f"{FLOWS}/{flow.pk}/file", **headers)
    assert raw.status_code == 200
    assert streamed(raw) == data
    # Not acknowledged yet: no acknowledgement to download.
    missing = client.get(f"{FLOWS}/{flow.pk}/acknowledgement", **headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_a_non_dematerialised_flow_is_ready_at_once(client, pes_member, software):
    _, headers = software
    response = post(client, headers, samples.pes_aller(SIRET, dematerialised=False))
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "signed"
    assert response.json()["signatures"] == []


def _one_unsigned(signer) -> bytes:
    root = etree.fromstring(signed_flow(signer, bordereaux=(101, 102)))
    second = xades.bordereaux(root)[1]
    second.remove(second.find(f"{{{xades.DS}}}Signature"))
    return etree.tostring(root)


BAD_FLOWS = {
    "malformed": (
        lambda s: samples.pes_aller(SIRET).replace(b'<NbrPce V="1"/>', b'<NbrPce V="un"/>'),
        "pes_schema_invalid",
    ),
    "truncated": (lambda s: signed_flow(s)[:1500], "pes_unreadable"),
    "not xml": (lambda s: b"%PDF-1.7 not a flow at all", "pes_unreadable"),
    "nul bytes": (
        lambda s: samples.pes_aller(SIRET)[:200] + b"\x00" + samples.pes_aller(SIRET)[200:],
        "pes_nul_bytes",
    ),
    "invalid utf-8": (
        lambda s: samples.pes_aller(SIRET).replace(b"MUTUALIS", b"MUT\xff\xfeALIS"),
        "pes_unreadable",
    ),
    "another member's siret": (
        lambda s: signed_flow(s, siret=OTHER_SIRET),
        "pes_other_collectivity",
    ),
    "signature that does not verify": (
        lambda s: signed_flow(s).replace(b'<MtHT V="1520.40"/>', b'<MtHT V="1.00"/>', 1),
        "pes_signature_invalid",
    ),
    "one bordereau unsigned": (_one_unsigned, "pes_signature_missing"),
    "signature on a paper flow": (
        lambda s: xades.sign_bordereaux(samples.pes_aller(SIRET, dematerialised=False), s),
        "pes_signature_forbidden",
    ),
    "empty": (lambda s: b"   ", "pes_file_required"),
}


@pytest.mark.parametrize("case", list(BAD_FLOWS))
def test_a_bad_flow_is_refused_with_what_to_fix_and_nothing_is_kept(
    client, pes_member, pes_signer, software, case
):
    _, headers = software
    make, code = BAD_FLOWS[case]
    files_before = pes_files()

    response = post(client, headers, make(pes_signer))

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert body["field"] == "file"
    assert body["message"]
    assert all_flows() == []
    assert pes_files() == files_before
    assert actions(pes_member) == []


def test_a_flow_over_the_limit_is_refused(client, pes_member, software, settings):
    _, headers = software
    settings.MUTUALIS_PES_MAX_BYTES = 1000
    response = post(client, headers, samples.pes_aller(SIRET, dematerialised=False))
    assert response.status_code == 400
    assert response.json()["code"] == "pes_too_large"
    assert all_flows() == []


def test_a_request_without_the_file_is_422(client, pes_member, software):
    _, headers = software
    response = client.post(FLOWS, {}, **headers)
    assert response.status_code == 422
    assert all_flows() == []


# --- Idempotency -----------------------------------------------------------------------


def test_the_same_flow_posted_twice_is_imported_once(client, pes_member, pes_signer, software):
    _, headers = software
    data = signed_flow(pes_signer)
    first = post(client, headers, data)
    assert first.status_code == 201

    again = post(client, headers, data, name="retry.xml")

    assert again.status_code == 409, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "signed"
    assert len(all_flows()) == 1
    assert actions(pes_member) == ["legality.pes_imported", "legality.pes_signed"]


def test_another_file_under_a_name_already_used_is_refused(client, pes_member, software):
    _, headers = software
    assert post(client, headers, samples.pes_aller(SIRET, dematerialised=False)).status_code == 201
    other = samples.pes_aller(SIRET, dematerialised=False, bordereaux=(101, 102))

    response = post(client, headers, other)

    assert response.status_code == 400
    assert response.json()["code"] == "pes_nomfic_taken"
    assert len(all_flows()) == 1


def test_a_post_racing_another_with_the_same_file_answers_409(
    client, pes_member, software, monkeypatch
):
    from mutualis.legality.api import pes_services
    from mutualis.legality.pes import errors

    _, headers = software
    data = samples.pes_aller(SIRET, dematerialised=False)
    real = pes_services.import_flow

    def racing(**kwargs):
        flow = real(**kwargs)  # the other request commits first…
        raise errors.NomficTaken(flow.nomfic)  # …and this one meets its name

    monkeypatch.setattr(pes_services, "import_flow", racing)

    response = post(client, headers, data)

    assert response.status_code == 409
    assert len(all_flows()) == 1


# --- Signature of a flow imported unsigned ---------------------------------------------


def test_an_unsigned_flow_waits_for_its_signed_version(client, pes_member, pes_signer, software):
    _, headers = software
    unsigned = samples.pes_aller(SIRET, bordereaux=(101, 102))
    flow_id = post(client, headers, unsigned).json()["id"]
    assert client.get(f"{FLOWS}/{flow_id}", **headers).json()["status"] == "imported"

    other = xades.sign_bordereaux(
        unsigned.replace(b"FOURNITURES SCOLAIRES ECOLE", b"FOURNITURES DE BUREAU ECOLE"), pes_signer
    )
    refused = client.post(
        f"{FLOWS}/{flow_id}/signed", {"file": SimpleUploadedFile("s.xml", other)}, **headers
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "pes_not_the_same_flow"

    signed = client.post(
        f"{FLOWS}/{flow_id}/signed",
        {"file": SimpleUploadedFile("s.xml", xades.sign_bordereaux(unsigned, pes_signer))},
        **headers,
    )
    assert signed.status_code == 200, signed.content
    assert signed.json()["status"] == "signed"
    assert len(signed.json()["signatures"]) == 2

    # Signed already: not waiting for a signature any more.
    again = client.post(
        f"{FLOWS}/{flow_id}/signed",
        {"file": SimpleUploadedFile("s.xml", xades.sign_bordereaux(unsigned, pes_signer))},
        **headers,
    )
    assert again.status_code == 400


# --- Status and acknowledgement --------------------------------------------------------


def test_status_and_acknowledgement_after_the_stand_ins_acquit(
    client, pes_member, pes_signer, pes_gateway, software
):
    _, headers = software
    pes_gateway.anomalies = {"102"}
    flow_id = post(client, headers, signed_flow(pes_signer, bordereaux=(101, 102))).json()["id"]

    assert sending.deposit_due_flows()["sent"] == 1
    sent = client.get(f"{FLOWS}/{flow_id}", **headers).json()
    assert sent["status"] == "sent"
    assert sent["sent_at"]
    assert sent["acknowledgement"] is None

    assert pes_gateway.process() == 1
    assert sending.collect_acknowledgements()["processed"] == 1

    body = client.get(f"{FLOWS}/{flow_id}", **headers).json()
    assert body["status"] == "acknowledged"
    ack = body["acknowledgement"]
    assert ack["refused"] is False
    assert ack["anomalies"] == 1
    [rejected] = [e for e in ack["elements"] if not e["ok"]]
    assert rejected["result"] == "KO"
    assert rejected["domain"] == "depense"
    assert rejected["bordereau"] == "102"
    assert rejected["anomaly"] == standin.ANOMALY_CODE
    assert rejected["label"] == standin.ANOMALY_LABEL
    assert all(e["result"] == "OK" for e in ack["elements"] if e["ok"])
    with scopes_disabled():
        flow = PesFlow.objects.select_related("acquit").get(pk=flow_id)
    # The same elements the agent's page shows.
    assert len(ack["elements"]) == len(flow.acknowledgement)
    assert ack["file"]["sha256"] == flow.acquit.sha256
    raw = client.get(f"{FLOWS}/{flow_id}/acknowledgement", **headers)
    assert raw.status_code == 200
    assert streamed(raw) == read(flow.acquit)
    assert client.get(FLOWS, {"status": "acknowledged"}, **headers).json()["total"] == 1


def test_the_status_label_follows_the_language(client, pes_member, software):
    _, headers = software
    flow_id = post(client, headers, samples.pes_aller(SIRET, dematerialised=False)).json()["id"]
    english = client.get(f"{FLOWS}/{flow_id}", HTTP_ACCEPT_LANGUAGE="en", **headers).json()
    french = client.get(f"{FLOWS}/{flow_id}", HTTP_ACCEPT_LANGUAGE="fr", **headers).json()
    assert english["status_label"] == "Ready to be sent (signatures verified)"
    assert french["status_label"].endswith("(signatures vérifiées)")
    assert french["status"] == english["status"] == FlowStatus.SIGNED


# --- Who may ---------------------------------------------------------------------------


def test_another_members_client_finds_nothing(client, pes_member, pes_signer, software, org_b):
    _, headers = software
    flow_id = post(client, headers, signed_flow(pes_signer)).json()["id"]
    subscribe(org_b)
    _, headers_b = token_for(client, organisation=org_b)

    for path in ("", "/file", "/acknowledgement"):
        response = client.get(f"{FLOWS}/{flow_id}{path}", **headers_b)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"
    signed = client.post(
        f"{FLOWS}/{flow_id}/signed",
        {"file": SimpleUploadedFile("s.xml", signed_flow(pes_signer))},
        **headers_b,
    )
    assert signed.status_code == 404
    assert client.get(FLOWS, **headers_b).json()["total"] == 0
    # Its own flow of member A's SIRET is refused as another collectivity's.
    posted = post(client, headers_b, samples.pes_aller(SIRET, dematerialised=False))
    assert posted.status_code == 400
    assert posted.json()["code"] in ("pes_other_collectivity", "pes_siren_missing")
    assert len(all_flows()) == 1


def test_a_read_only_token_reads_but_cannot_post(client, pes_member):
    _, headers = token_for(client, organisation=pes_member, scopes=("api:read",))

    assert client.get(FLOWS, **headers).status_code == 200
    response = post(client, headers, samples.pes_aller(SIRET, dematerialised=False))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert all_flows() == []


def test_without_a_token_or_the_subscription_nothing_is_done(client, pes_member, software):
    data = samples.pes_aller(SIRET, dematerialised=False)
    assert post(client, {}, data).status_code == 401
    assert client.get(FLOWS).status_code == 401
    _, headers = software
    subscribe(pes_member, active=False)

    response = post(client, headers, data)

    assert response.status_code == 400
    assert response.json()["code"] == "service_not_subscribed"
    assert all_flows() == []


def test_a_company_client_has_no_flows(client, db):
    from tests.factories.companies import company_siren, register_company, verified_person

    company = register_company(
        verified_person("gerant@example.org"), siren=company_siren(4)
    ).company
    _, headers = token_for(client, company=company)

    assert client.get(FLOWS, **headers).status_code == 403
    assert post(client, headers, samples.pes_aller(SIRET)).status_code == 403


# --- Webhooks --------------------------------------------------------------------------


def deliveries(org) -> list[WebhookDelivery]:
    with scopes_disabled():
        return list(WebhookDelivery.objects.filter(organisation=org).order_by("pk"))


def test_every_status_change_of_a_flow_and_every_return_is_told(
    client, pes_member, pes_signer, pes_gateway, software, receiver
):
    _, headers = software
    registered = client.post(
        "/api/v1/legality/webhooks",
        {"url": receiver.url},
        content_type="application/json",
        **headers,
    )
    assert registered.status_code == 201, registered.content
    secret = registered.json()["secret"]
    pes_gateway.anomalies = {"102"}

    flow_id = post(client, headers, signed_flow(pes_signer, bordereaux=(101, 102))).json()["id"]
    sending.deposit_due_flows()
    pes_gateway.process()
    sending.collect_acknowledgements()
    retour_name = pes_gateway.drop_retour(samples.pes_retour(SIRET, rejected=(102,)))
    sending.collect_acknowledgements()

    rows = deliveries(pes_member)
    assert [d.event for d in rows] == [
        "pes_flow.signed",
        "pes_flow.sent",
        "pes_flow.acknowledged",
        "pes_return.received",
    ]
    assert {d.pes_flow_id for d in rows[:3]} == {flow_id}
    assert rows[3].pes_return_id is not None
    assert rows[3].act_id is None

    assert webhooks.deliver_due() == {"delivered": 4}
    bodies = [json.loads(r["body"]) for r in receiver.received]
    for received in receiver.received:
        hdrs = received["headers"]
        assert webhooks.verify(
            secret, hdrs["Mutualis-Signature"], hdrs["Mutualis-Timestamp"], received["body"]
        )
    acknowledged = next(b for b in bodies if b["type"] == "pes_flow.acknowledged")
    assert acknowledged["data"]["pes_flow"]["id"] == flow_id
    assert acknowledged["data"]["pes_flow"]["previous_status"] == "sent"
    assert acknowledged["data"]["pes_flow"]["anomalies"] == 1
    received_return = next(b for b in bodies if b["type"] == "pes_return.received")
    assert received_return["data"]["pes_return"]["nomfic"] == retour_name
    log = client.get(
        f"/api/v1/legality/webhooks/{registered.json()['id']}/deliveries", **headers
    ).json()["results"]
    assert {d["pes_flow_id"] for d in log if d["event"].startswith("pes_flow.")} == {flow_id}


def test_a_flow_that_cannot_be_sent_is_told_in_error(
    client, pes_member, pes_signer, software, settings, receiver
):
    from tests.factories.pes import make_key_pem

    _, headers = software
    client.post(
        "/api/v1/legality/webhooks",
        {"url": receiver.url, "events": ["pes_flow.error"]},
        content_type="application/json",
        **headers,
    )
    settings.MUTUALIS_PES_SFTP_HOST = "127.0.0.1"
    settings.MUTUALIS_PES_SFTP_PORT = 9  # nothing listens there
    settings.MUTUALIS_PES_SFTP_HOST_KEY = "ssh-ed25519 AAAA"
    settings.MUTUALIS_PES_SFTP_KEY = make_key_pem()
    settings.MUTUALIS_PES_MAX_ATTEMPTS = 1
    flow_id = post(client, headers, signed_flow(pes_signer)).json()["id"]

    assert sending.deposit_due_flows()["failed"] == 1

    # Only the event asked for: not "signed".
    [delivery] = deliveries(pes_member)
    assert (delivery.event, delivery.pes_flow_id) == ("pes_flow.error", flow_id)
    assert webhooks.deliver_due() == {"delivered": 1}
    body = json.loads(receiver.received[0]["body"])
    assert body["data"]["pes_flow"]["status"] == "error"
    assert body["data"]["pes_flow"]["error_reason"]
    assert client.get(f"{FLOWS}/{flow_id}", **headers).json()["status"] == "error"


def test_an_unknown_pes_event_is_refused(client, pes_member, software, receiver):
    _, headers = software
    response = client.post(
        "/api/v1/legality/webhooks",
        {"url": receiver.url, "events": ["pes_flow.imported"]},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "legality_webhook_event_unknown"


def test_a_delivery_is_about_exactly_one_thing(pes_member):
    from django.db import IntegrityError, transaction

    from mutualis.legality.models import WebhookEndpoint

    with scopes_disabled():
        endpoint = WebhookEndpoint.objects.create(
            organisation=pes_member, url="https://example.org/h", secret_sealed="x"
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            WebhookDelivery.objects.create(
                organisation=pes_member,
                endpoint=endpoint,
                event_id="6f1c7a0e-1f7b-4f51-9a43-5b0a1f1f0001",
                event="pes_flow.sent",
                created_at=timezone.now(),
            )


# --- The document ----------------------------------------------------------------------


def test_the_flow_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    post_flow = paths["/api/v1/legality/pes/flows"]["post"]
    assert "multipart/form-data" in post_flow["requestBody"]["content"]
    assert {"201", "409", "400", "403"} <= set(post_flow["responses"])
    assert "get" in paths["/api/v1/legality/pes/flows"]
    assert "get" in paths["/api/v1/legality/pes/flows/{flow_id}"]
    assert "post" in paths["/api/v1/legality/pes/flows/{flow_id}/signed"]
    ack = paths["/api/v1/legality/pes/flows/{flow_id}/acknowledgement"]["get"]
    assert "text/xml" in ack["responses"]["200"]["content"]
