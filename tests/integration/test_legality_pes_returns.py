"""The treasury's returns (PES_Retour): collected from the gateway's outbox beside the
acquits, validated against the RETOUR schemas, routed to the member's inbox (or
quarantined, never lost, never processed twice), read by its accounting agents and its
software (every download audited); the member's PES_ACQUIT_RETOUR built, checked against
its schema and deposited through the same gateway, retried with back-off; the stand-in's
part; and the PES figures of the operator's monitoring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from lxml import etree

from mutualis.core import files as file_store
from mutualis.core.models import AuditEvent
from mutualis.legality import crossings
from mutualis.legality.errors import TransitionNotAllowed
from mutualis.legality.pes import flows, inbox, samples, sending, services, transitions
from mutualis.legality.pes.models import (
    AcquitRetourStatus,
    FlowStatus,
    PesInbound,
    PesInboundStatus,
    PesReturn,
)
from tests.factories.core import ORG_A, ORG_B, org_url
from tests.factories.legality import legality_agent, subscribe
from tests.factories.legality_api import token_for
from tests.factories.pes import OTHER_SIRET, SIRET, signed_flow, upload

pytestmark = pytest.mark.django_db


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="legality.pes")
            .order_by("pk")
            .values_list("action", flat=True)
        )


def returns() -> list[PesReturn]:
    with scopes_disabled():
        return list(PesReturn.objects.select_related("file", "ack_file").order_by("pk"))


def fresh(retour: PesReturn) -> PesReturn:
    with scopes_disabled():
        return PesReturn.objects.select_related("file", "ack_file").get(pk=retour.pk)


def read(stored) -> bytes:
    with file_store.open_stored_file(stored) as handle:
        return handle.read()


def inbound() -> list[PesInbound]:
    with scopes_disabled():
        return list(PesInbound.objects.order_by("pk"))


def outbox(standin) -> list[str]:
    return sorted(p.name for p in (standin.root / "sortie").iterdir())


def inbox_files(standin) -> list[str]:
    return sorted(p.name for p in (standin.root / "entree").iterdir())


# --- Formats ---------------------------------------------------------------------------


def test_a_real_shaped_return_follows_the_retour_schema_and_is_summarised():
    data = samples.pes_retour(SIRET, rejected=(102, 103), accepted=(101,))

    assert flows.retour_schema().validate(etree.fromstring(data))
    retour = flows.read_retour(data)

    assert retour.id_coll == SIRET
    assert retour.typfic == "PES2R_DEP"
    assert retour.restitution == "01"  # rejects
    assert retour.domains == ["depense"]
    assert retour.summary == [
        {"domain": "depense", "bordereaux": 3, "pieces": 3, "rejected": 2, "pending": 0}
    ]
    assert [(r["bordereau"], r["piece"]) for r in retour.rejected] == [
        ("102", "1021"),
        ("103", "1031"),
    ]
    assert retour.rejected[0]["observation"] == samples.REJECTION


@pytest.mark.parametrize(
    ("nomfic", "declared", "expected"),
    [
        ("PES2R_DEP__R_001_00_021000_x.xml", "R", "01"),
        ("PES2R_DEP__P_001_00_021000_x.xml", "P", "02"),
        ("PES2R_RCE__S_001_00_021000_x.xml", "", "03"),
        ("PES2R_RCE__RS_001_00_021000_x.xml", "", "03"),
        ("PES2R_RCE__RRO_001_00_021000_x.xml", "", "01"),
        ("PES2R_RCE__CO_001_00_021000_x.xml", "", "02"),
        ("ANYTHING", "03", "03"),
        ("ANYTHING", "", "02"),
    ],
)
def test_the_kind_of_return_comes_from_its_header_or_its_name(nomfic, declared, expected):
    assert flows.restitution_of(nomfic, declared) == expected


@pytest.mark.parametrize(("rejected", "accepted"), [((102,), ()), ((), (101, 102))])
def test_every_generated_acquit_retour_follows_its_schema(rejected, accepted):
    retour = flows.read_retour(samples.pes_retour(SIRET, rejected=rejected, accepted=accepted))

    data = flows.write_acquit_retour(retour, day=timezone.localdate())

    root = flows.read_acquit_retour(data)
    assert flows.acquit_retour_schema().validate(root)
    [element] = root.findall("ACQUIT_RETOUR/ElementACQUIT_RETOUR")
    assert element.find("DomaineAckRetour").get("V") == "13"
    assert element.find("NomFichierRetour").get("V") == retour.nomfic
    assert element.find("TypRestit").get("V") == retour.restitution
    assert root.find("EnTetePES/IdColl").get("V") == SIRET


# --- Collection, routing, quarantine ---------------------------------------------------


def test_a_return_reaches_the_members_inbox_and_its_acquit_retour_goes_back(
    pes_member, accountant, pes_gateway
):
    standin = pes_gateway
    data = samples.pes_retour(SIRET, rejected=(102,), accepted=(101,))
    name = standin.drop_retour(data)

    counts = sending.collect_acknowledgements()

    assert counts["processed"] == 1
    [retour] = returns()
    assert retour.organisation_id == pes_member.pk
    assert retour.nomfic == name
    assert retour.domains == ["depense"]
    assert retour.summary[0]["rejected"] == 1
    assert retour.read_at is None
    assert read(retour.file) == data
    assert retour.ack_status == AcquitRetourStatus.TO_SEND
    assert flows.acquit_retour_schema().validate(etree.fromstring(read(retour.ack_file)))
    [row] = inbound()
    assert (row.status, row.retour_id, row.flow_id) == (PesInboundStatus.PROCESSED, retour.pk, None)
    assert outbox(standin) == []

    assert sending.deposit_due_acquits_retour()["sent"] == 1

    retour = fresh(retour)
    assert retour.ack_status == AcquitRetourStatus.SENT
    assert retour.ack_sent_at is not None
    assert inbox_files(standin) == [retour.ack_remote_name]
    assert (standin.root / "entree" / retour.ack_remote_name).read_bytes() == read(retour.ack_file)
    # Nothing is deposited twice.
    assert sending.deposit_due_acquits_retour()["sent"] == 0
    # The stand-in takes it as an Acquit_Retour (no PES_ACQUIT answered for it).
    assert standin.process() == 1
    assert standin.acquits_retour == [retour.ack_remote_name]
    assert standin.rejected == []
    assert outbox(standin) == []
    assert actions(pes_member) == [
        "legality.pes_return_received",
        "legality.pes_acquit_retour_sent",
    ]


def test_the_same_return_collected_twice_is_processed_once(pes_member, accountant, pes_gateway):
    data = samples.pes_retour(SIRET)
    pes_gateway.drop_retour(data, "first.xml")
    pes_gateway.drop_retour(data, "again.xml")

    counts = sending.collect_acknowledgements()

    assert (counts["processed"], counts["duplicate"]) == (1, 1)
    assert len(returns()) == 1
    assert len(inbound()) == 1
    assert sending.receive(data, "third.xml") == "duplicate"
    assert outbox(pes_gateway) == []


def _truncated() -> bytes:
    return samples.pes_retour(SIRET)[:900]


def _invalid() -> bytes:
    return samples.pes_retour(SIRET).replace(b'<EtatPce V="04"/>', b'<EtatPce V="99"/>')


def _another_name_same_file() -> bytes:
    data = samples.pes_retour(SIRET, name="PES2R_DEP__R_SAME.xml")
    sending.receive(data, "first.xml")
    return data.replace(b'<MtHT V="1520.40"/>', b'<MtHT V="1520.41"/>')


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_truncated, "not a valid PES_ACQUIT or PES_Retour: not well-formed XML"),
        (_invalid, "not a valid PES_ACQUIT or PES_Retour: line"),
        (lambda: samples.pes_retour("99999999900018"), "no member has the SIRET 99999999900018"),
        (lambda: b"\x00\x01" + samples.pes_retour(SIRET), "not a valid PES_ACQUIT or PES_Retour"),
        (
            lambda: samples.pes_retour(SIRET).replace(b"PES_Retour", b"PES_Autre"),
            "not a valid PES_ACQUIT or PES_Retour: the root element is PES_Autre",
        ),
        (_another_name_same_file, "already received a PES_Retour named PES2R_DEP__R_SAME.xml"),
    ],
    ids=["truncated", "schema", "no member", "binary", "other root", "name taken"],
)
def test_a_return_that_cannot_be_routed_is_quarantined_and_kept(
    make, reason, pes_member, accountant, pes_gateway
):
    content = make()
    before = len(returns())
    pes_gateway.drop_retour(content, "PES_Retour_bad.xml")

    counts = sending.collect_acknowledgements()

    assert counts["quarantined"] == 1
    assert len(returns()) == before
    [row] = [r for r in inbound() if r.status == PesInboundStatus.QUARANTINED]
    assert reason in row.reason
    assert read(row.raw) == content
    assert outbox(pes_gateway) == []
    # Quarantined once: the same file again is a duplicate.
    assert sending.receive(content, "PES_Retour_bad.xml") == "duplicate"


def test_a_return_for_another_members_siret_goes_to_that_member_only(
    client, pes_member, accountant, org_b, agent_b
):
    org_b.siren, org_b.siret = OTHER_SIRET[:9], OTHER_SIRET
    org_b.save(update_fields=["siren", "siret"])

    assert sending.receive(samples.pes_retour(OTHER_SIRET), "r.xml") == "processed"

    [retour] = returns()
    assert retour.organisation_id == org_b.pk
    client.force_login(accountant.user)
    assert client.get(org_url("legality:pes:return_detail", pk=retour.pk)).status_code == 404
    assert client.get(org_url("legality:pes:return_file", pk=retour.pk)).status_code == 404
    assert retour.nomfic not in client.get(org_url("legality:pes:returns")).content.decode()
    assert actions(pes_member) == []


def test_acquits_and_returns_are_told_apart_in_one_collection(
    pes_member, accountant, pes_signer, pes_gateway
):
    pes_gateway.anomalies = {"102"}
    services.import_flow(
        actor=accountant, upload=upload(signed_flow(pes_signer, bordereaux=(101, 102)))
    )
    sending.deposit_due_flows()
    pes_gateway.process()
    pes_gateway.drop_retour(samples.pes_retour(SIRET, rejected=(102,)))

    counts = sending.collect_acknowledgements()

    assert counts["processed"] == 2
    with scopes_disabled():
        from mutualis.legality.pes.models import PesFlow

        assert PesFlow.objects.get().status == FlowStatus.ACKNOWLEDGED
    assert len(returns()) == 1


# --- The Acquit_Retour's sending: back-off, error, retry ---------------------------------


def test_the_gateway_down_while_depositing_the_acquit_retour_is_retried(
    client, pes_member, accountant, pes_gateway, settings
):
    assert sending.receive(samples.pes_retour(SIRET), "r.xml") == "processed"
    [retour] = returns()
    port = settings.MUTUALIS_PES_SFTP_PORT
    settings.MUTUALIS_PES_SFTP_PORT = 9  # nothing listens there
    now = timezone.now()

    assert sending.deposit_due_acquits_retour(now=now)["retry"] == 1
    retour = fresh(retour)
    assert (retour.ack_status, retour.ack_attempts) == (AcquitRetourStatus.TO_SEND, 1)
    assert "connection" in retour.ack_error
    # Not due before its back-off (60 s); the last attempt (2) puts it in error.
    assert sending.deposit_due_acquits_retour(now=now + timedelta(seconds=30))["retry"] == 0
    assert sending.deposit_due_acquits_retour(now=now + timedelta(seconds=61))["failed"] == 1
    retour = fresh(retour)
    assert retour.ack_status == AcquitRetourStatus.ERROR
    assert inbox_files(pes_gateway) == []
    assert crossings.monitoring(timezone.now(), timedelta(hours=4)).pes.returns_ack_errors == 1

    # The gateway is back; the agent sends it again from the return's page.
    settings.MUTUALIS_PES_SFTP_PORT = port
    client.force_login(accountant.user)
    page = client.get(org_url("legality:pes:return_detail", pk=retour.pk)).content.decode()
    assert (
        reverse("legality:pes:return_retry", kwargs={"org": pes_member.slug, "pk": retour.pk})
        in page
    )
    client.post(org_url("legality:pes:return_retry", pk=retour.pk))
    assert (fresh(retour).ack_status, fresh(retour).ack_attempts) == (AcquitRetourStatus.TO_SEND, 0)
    assert sending.deposit_due_acquits_retour()["sent"] == 1
    assert inbox_files(pes_gateway) == [retour.ack_remote_name]
    assert actions(pes_member) == [
        "legality.pes_return_received",
        "legality.pes_acquit_retour_failed",
        "legality.pes_return_read",
        "legality.pes_acquit_retour_retried",
        "legality.pes_acquit_retour_sent",
    ]


def test_an_acquit_retour_already_on_the_gateway_is_not_written_twice(
    pes_member, accountant, pes_gateway
):
    sending.receive(samples.pes_retour(SIRET), "r.xml")
    [retour] = returns()
    # An earlier attempt deposited it, and its answer was lost.
    (pes_gateway.root / "entree" / retour.ack_remote_name).write_bytes(b"earlier")

    assert sending.deposit_due_acquits_retour()["sent"] == 1
    assert (pes_gateway.root / "entree" / retour.ack_remote_name).read_bytes() == b"earlier"
    with scopes_disabled():
        [event] = AuditEvent.objects.filter(action="legality.pes_acquit_retour_sent")
    assert event.payload["already_there"] is True
    assert event.actor == "system:legality.pes_transmission"


def test_the_acknowledgement_table_is_walked():
    retour = PesReturn(ack_status=AcquitRetourStatus.TO_SEND)
    for (before, event), after in transitions.ACK_TRANSITIONS.items():
        retour.ack_status = before
        assert transitions.apply_ack(retour, event) == after
    retour.ack_status = AcquitRetourStatus.SENT
    for event in transitions.AckEvent:
        assert not transitions.ack_allowed(retour, event)
        with pytest.raises(TransitionNotAllowed):
            transitions.apply_ack(retour, event)


def test_a_sent_acknowledgement_cannot_be_retried(pes_member, accountant, pes_gateway):
    sending.receive(samples.pes_retour(SIRET), "r.xml")
    sending.deposit_due_acquits_retour()
    [retour] = returns()

    with pytest.raises(TransitionNotAllowed):
        inbox.retry_acquit_retour(actor=accountant, retour_id=retour.pk)


# --- The inbox's pages ------------------------------------------------------------------


def test_the_agent_reads_the_inbox_opens_a_return_and_downloads_it(
    client, pes_member, accountant, django_assert_max_num_queries
):
    for serial in range(1, 4):
        sending.receive(samples.pes_retour(SIRET, serial=serial), f"r{serial}.xml")
    first, second, third = returns()
    client.force_login(accountant.user)

    with django_assert_max_num_queries(25):
        page = client.get(org_url("legality:pes:returns")).content.decode()
    # Newest first, all unread.
    assert page.index(third.nomfic) < page.index(second.nomfic) < page.index(first.nomfic)
    assert page.count("<strong>Unread</strong>") == 3

    detail = client.get(org_url("legality:pes:return_detail", pk=second.pk))
    assert detail.status_code == 200
    assert "1021" in detail.content.decode()
    assert samples.REJECTION in detail.content.decode()
    assert fresh(second).read_at is not None
    # Opening it again records nothing more.
    client.get(org_url("legality:pes:return_detail", pk=second.pk))

    response = client.get(org_url("legality:pes:return_file", pk=third.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == read(third.file)
    assert "attachment" in response["Content-Disposition"]
    assert third.nomfic in response["Content-Disposition"]
    assert fresh(third).read_at is not None
    client.get(org_url("legality:pes:return_file", pk=third.pk))

    with scopes_disabled():
        downloads = list(
            AuditEvent.objects.filter(
                chain=f"org:{pes_member.pk}", action="legality.pes_return_downloaded"
            )
        )
        reads = AuditEvent.objects.filter(action="legality.pes_return_read").count()
    assert len(downloads) == 2
    assert downloads[0].payload["sha256"] == third.file.sha256
    assert reads == 1
    # The raw file is not served by the generic download route.
    assert client.get(third.file.url_for_organisation(pes_member.slug)).status_code == 404


def test_the_inbox_is_paginated(client, pes_member, accountant, settings):
    for serial in range(1, 28):
        sending.receive(samples.pes_retour(SIRET, serial=serial), f"r{serial}.xml")
    client.force_login(accountant.user)

    first = client.get(org_url("legality:pes:returns")).content.decode()
    second = client.get(org_url("legality:pes:returns") + "?page=2").content.decode()
    odd = client.get(org_url("legality:pes:returns") + "?page=%00x")

    assert first.count("legality/pes/returns/") >= 25
    assert "?page=2" in first
    assert second.count("PES2R_DEP__") == 2
    assert odd.status_code in (200, 400)


def test_others_get_404_on_a_return(client, pes_member, accountant, agent_a, agent_b):
    sending.receive(samples.pes_retour(SIRET), "r.xml")
    [retour] = returns()
    clerk = legality_agent(pes_member, "clerk.a@example.org", roles=("legality_agent",))

    for other in (agent_a, clerk):
        client.force_login(other.user)
        assert client.get(org_url("legality:pes:returns")).status_code == 404
        assert client.get(org_url("legality:pes:return_detail", pk=retour.pk)).status_code == 404
        assert client.get(org_url("legality:pes:return_file", pk=retour.pk)).status_code == 404

    # Another member's accounting agent: 404 under either path.
    subscribe(agent_b.organisation)
    other_accountant = legality_agent(
        agent_b.organisation, "compta.b@example.org", roles=("legality_accountant",)
    )
    client.force_login(other_accountant.user)
    for org in (ORG_A, ORG_B):
        for name in ("return_detail", "return_file"):
            url = org_url(f"legality:pes:{name}", org=org, pk=retour.pk)
            assert client.get(url).status_code == 404
        url = org_url("legality:pes:return_retry", org=org, pk=retour.pk)
        assert client.post(url).status_code == 404
    with pytest.raises(PermissionDenied):
        inbox.record_download(actor=other_accountant, retour_id=retour.pk)
    assert fresh(retour).read_at is None
    assert actions(pes_member) == ["legality.pes_return_received"]


# --- The API ----------------------------------------------------------------------------


def test_software_lists_and_downloads_the_returns(client, pes_member, accountant):
    sending.receive(samples.pes_retour(SIRET, rejected=(102,), accepted=(101,)), "r.xml")
    [retour] = returns()
    client_id, headers = token_for(client, organisation=pes_member, scopes=("api:read",))

    listed = client.get("/api/v1/legality/pes/returns", **headers)
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert body["total"] == 1
    [item] = body["results"]
    assert (item["nomfic"], item["kind"], item["read"]) == (retour.nomfic, "01", False)
    assert item["summary"] == [
        {"domain": "depense", "bordereaux": 2, "pieces": 2, "rejected": 1, "pending": 0}
    ]
    assert item["rejected"][0]["piece"] == "1021"
    assert item["acknowledgement_status"] == "to_send"
    assert client.get("/api/v1/legality/pes/returns?unread=true", **headers).json()["total"] == 1

    one = client.get(f"/api/v1/legality/pes/returns/{retour.pk}", **headers)
    assert one.json()["file"]["sha256"] == retour.file.sha256

    raw = client.get(f"/api/v1/legality/pes/returns/{retour.pk}/file", **headers)
    assert raw.status_code == 200
    assert b"".join(raw.streaming_content) == read(retour.file)
    assert client.get("/api/v1/legality/pes/returns?unread=true", **headers).json()["total"] == 0
    with scopes_disabled():
        [event] = AuditEvent.objects.filter(action="legality.pes_return_downloaded")
    assert event.actor == f"system:api_client:{client_id}"
    assert event.chain == f"org:{pes_member.pk}"


def test_another_members_software_finds_no_return(client, pes_member, accountant, org_b):
    sending.receive(samples.pes_retour(SIRET), "r.xml")
    [retour] = returns()
    subscribe(org_b)
    _, headers_b = token_for(client, organisation=org_b)

    assert client.get("/api/v1/legality/pes/returns", **headers_b).json()["total"] == 0
    assert client.get(f"/api/v1/legality/pes/returns/{retour.pk}", **headers_b).status_code == 404
    assert (
        client.get(f"/api/v1/legality/pes/returns/{retour.pk}/file", **headers_b).status_code == 404
    )
    assert client.get("/api/v1/legality/pes/returns").status_code == 401
    assert actions(pes_member) == ["legality.pes_return_received"]


def test_the_return_operations_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/legality/pes/returns" in paths
    assert "/api/v1/legality/pes/returns/{return_id}/file" in paths


# --- The stand-in, the jobs, the operator's monitoring ----------------------------------


def test_the_stand_in_rejects_an_invalid_acquit_retour(pes_gateway):
    (pes_gateway.root / "entree" / "bad.xml").write_bytes(
        b'<n:PES_ACQUIT_RETOUR xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller/ack"/>'
    )
    assert pes_gateway.process() == 1
    assert pes_gateway.rejected == ["bad.xml"]
    assert pes_gateway.acquits_retour == []
    # Never answered with a PES_ACQUIT.
    assert outbox(pes_gateway) == []


def test_the_acquit_retour_job_is_declared():
    from mutualis.core import registry

    names = {job.name for job in registry.periodic_jobs()}
    assert "legality_deposit_pes_acquits_retour" in names


def test_the_operator_sees_the_pes_figures(
    client, operator_staff, pes_member, accountant, pes_signer, settings
):
    now = timezone.now()
    # A flow waiting, one sent long ago and not acknowledged, one in error.
    waiting = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    late = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer, serial=2)))
    failed = services.import_flow(
        actor=accountant, upload=upload(signed_flow(pes_signer, serial=3))
    )
    with scopes_disabled():
        from mutualis.legality.pes.models import PesFlow

        PesFlow.objects.filter(pk=waiting.pk).update(send_attempts=1)
        PesFlow.objects.filter(pk=late.pk).update(
            status=FlowStatus.SENT, sent_at=now - timedelta(hours=5)
        )
        PesFlow.objects.filter(pk=failed.pk).update(status=FlowStatus.ERROR)
    # A return awaiting its acknowledgement, and a file in quarantine.
    sending.receive(samples.pes_retour(SIRET), "r.xml")
    sending.receive(b"<truncated", "bad.xml")

    figures = crossings.monitoring(now, timedelta(hours=4)).pes

    assert (figures.waiting, figures.retrying) == (1, 1)
    assert figures.sent_unacknowledged == 1
    assert figures.errors == 1
    assert figures.quarantined == 1
    assert (figures.returns_unacknowledged, figures.returns_ack_errors) == (1, 0)
    client.force_login(operator_staff.user)
    page = client.get(reverse("backoffice:legality_monitoring"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "PES_Acquit_Retour" in text
    assert "bad.xml" in text
