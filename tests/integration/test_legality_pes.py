"""PES V2 flows to the treasury: import (schema, identity, signature rule), XAdES
signatures, the SFTP gateway against its stand-in over a real socket, the PES_ACQUIT
routed back, the pages, permissions and tenant isolation."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django_scopes import scopes_disabled
from lxml import etree

from mutualis.core import files as file_store
from mutualis.core.models import AuditEvent
from mutualis.evidence import signatures
from mutualis.legality.pes import errors, flows, gateway, samples, sending, services, xades
from mutualis.legality.pes.models import FlowStatus, PesFlow, PesInbound
from tests.factories.core import ORG_B, org_url
from tests.factories.legality import legality_agent, subscribe
from tests.factories.pes import OTHER_SIRET, SIRET, make_key_pem, make_signer, signed_flow, upload

pytestmark = pytest.mark.django_db

SCHEMAS = flows.SCHEMAS.parent


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="legality.pes")
            .order_by("pk")
            .values_list("action", flat=True)
        )


def all_flows() -> list[PesFlow]:
    with scopes_disabled():
        return list(PesFlow.objects.order_by("pk"))


def read(stored) -> bytes:
    with file_store.open_stored_file(stored) as handle:
        return handle.read()


def fresh(flow: PesFlow) -> PesFlow:
    with scopes_disabled():
        return PesFlow.objects.select_related("file", "acquit").get(pk=flow.pk)


# --- Signatures ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1.1", "1.2.2"])
def test_the_signer_makes_schema_valid_xades_epes_that_verify(pes_signer, version):
    data = signed_flow(pes_signer, bordereaux=(101, 102), version=version)
    root = etree.fromstring(data)

    # The whole flow, signatures included, follows the PES_Aller schema (which declares
    # the 1.1.1 qualifying properties; 1.2.2 is checked against its own schema).
    assert flows.aller_schema().validate(root), flows.aller_schema().error_log
    namespace = xades.PES_XADES_VERSIONS[version]
    properties = root.findall(f".//{{{namespace}}}QualifyingProperties")
    assert len(properties) == 2
    if version == "1.2.2":
        schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "xades" / "XAdES1.2.2.xsd")))
        assert schema.validate(etree.ElementTree(etree.fromstring(etree.tostring(properties[0]))))
    assert root.findtext(f".//{{{namespace}}}SigPolicyId/{{{namespace}}}Identifier") == (
        xades.HELIOS_POLICY
    )
    # Each bordereau's signature, checked by the evidence module (signxml underneath).
    checks, global_problems = xades.check_bordereau_signatures(data)
    assert [c.bordereau_id for c in checks] == ["BORD1_101", "BORD1_102"]
    assert all(c.valid and c.version == version for c in checks), checks
    assert checks[0].signer == "Marie Martin, maire"
    assert checks[0].signing_time is not None
    assert global_problems == []
    # And one bordereau alone, straight through verify_xml: intact, trusted, in time.
    [report] = signatures.verify_xml(
        xades._alone(root, root.findall(f".//{{{xades.DS}}}Signature")[0])
    )
    assert report.valid
    assert report.intact
    assert report.trusted


def test_an_altered_bordereau_breaks_its_own_signature_only(pes_signer):
    data = signed_flow(pes_signer, bordereaux=(101, 102))
    tampered = data.replace(b'<MtHT V="1520.40"/>', b'<MtHT V="9520.40"/>', 1)

    checks, _global = xades.check_bordereau_signatures(tampered)

    assert not checks[0].valid
    assert any("Digest mismatch" in p for p in checks[0].problems)
    assert checks[1].valid


def test_a_signature_by_an_untrusted_authority_does_not_hold(pes_signer):
    stranger, _ca = make_signer("Someone else")
    checks, _global = xades.check_bordereau_signatures(signed_flow(stranger))
    assert not checks[0].valid
    assert any("trusted authority" in p or "autorité" in p for p in checks[0].problems)


# --- Import ----------------------------------------------------------------------------


def test_a_signed_flow_is_imported_verified_and_audited(pes_member, accountant, pes_signer):
    data = signed_flow(pes_signer, bordereaux=(101, 102))

    flow = services.import_flow(actor=accountant, upload=upload(data))

    flow = fresh(flow)
    assert flow.status == FlowStatus.SIGNED
    assert flow.nomfic.startswith(f"PESALR1_{SIRET}_")
    assert flow.domains == ["depense", "pj"]
    assert (flow.bordereaux, flow.pieces, flow.dematerialised) == (2, 2, True)
    assert [s["bordereau"] for s in flow.signatures] == ["BORD1_101", "BORD1_102"]
    assert flow.signatures[0]["version"] == "1.1.1"
    assert flow.remote_name == f"PES{flow.pk}_{flow.nomfic}.xml"
    assert flow.file.owner_kind == "legality.pes"
    assert actions(pes_member) == ["legality.pes_imported", "legality.pes_signed"]


def test_a_non_dematerialised_flow_needs_no_signature(pes_member, accountant):
    data = samples.pes_aller(SIRET, dematerialised=False)
    flow = services.import_flow(actor=accountant, upload=upload(data))
    assert fresh(flow).status == FlowStatus.SIGNED
    assert fresh(flow).signatures == []


def _doctype() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller">&b;</n:PES_Aller>'
    )


BAD_INPUTS = {
    "nul": (
        lambda s: samples.pes_aller(SIRET)[:200] + b"\x00\x00" + samples.pes_aller(SIRET)[200:],
        "pes_nul_bytes",
    ),
    "truncated": (lambda s: samples.pes_aller(SIRET)[:1500], "pes_unreadable"),
    "not xml": (lambda s: b"%PDF-1.7 not a flow at all", "pes_unreadable"),
    "invalid utf-8": (
        lambda s: samples.pes_aller(SIRET).replace(b"MUTUALIS", b"MUT\xff\xfeALIS"),
        "pes_unreadable",
    ),
    "doctype": (lambda s: _doctype(), "pes_doctype"),
    "wrong root": (lambda s: b'<PES_Retour xmlns="urn:x"/>', "pes_not_aller"),
    "schema": (
        lambda s: samples.pes_aller(SIRET).replace(b'<NbrPce V="1"/>', b'<NbrPce V="un"/>'),
        "pes_schema_invalid",
    ),
    "other member": (lambda s: samples.pes_aller(OTHER_SIRET), "pes_other_collectivity"),
    "signature on non-dematerialised": (
        lambda s: xades.sign_bordereaux(samples.pes_aller(SIRET, dematerialised=False), s),
        "pes_signature_forbidden",
    ),
    "altered after signing": (
        lambda s: signed_flow(s).replace(b'<MtHT V="1520.40"/>', b'<MtHT V="1.00"/>', 1),
        "pes_signature_invalid",
    ),
    "one bordereau unsigned": (
        lambda s: _one_unsigned(s),
        "pes_signature_missing",
    ),
    "empty": (lambda s: b"   ", "pes_file_required"),
}


def _one_unsigned(signer) -> bytes:
    root = etree.fromstring(signed_flow(signer, bordereaux=(101, 102)))
    second = xades.bordereaux(root)[1]
    second.remove(second.find(f"{{{xades.DS}}}Signature"))
    return etree.tostring(root)


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_a_bad_flow_is_refused_with_what_to_fix_and_nothing_is_kept(
    case, pes_member, accountant, pes_signer
):
    make, code = BAD_INPUTS[case]

    with pytest.raises(errors.PesError) as refused:
        services.import_flow(actor=accountant, upload=upload(make(pes_signer)))

    assert refused.value.code == code
    assert str(refused.value.message)
    assert all_flows() == []
    assert actions(pes_member) == []


def test_a_flow_over_the_size_limit_is_refused(pes_member, accountant, settings):
    settings.MUTUALIS_PES_MAX_BYTES = 1000
    with pytest.raises(errors.TooLarge):
        services.import_flow(actor=accountant, upload=upload(samples.pes_aller(SIRET)))


def test_a_flow_name_is_imported_once(pes_member, accountant, pes_signer):
    services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    with pytest.raises(errors.NomficTaken):
        services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    assert len(all_flows()) == 1


def test_an_annexed_budget_of_the_same_siren_is_the_members(pes_member, accountant):
    data = samples.pes_aller("21210010800027", dematerialised=False)
    assert fresh(services.import_flow(actor=accountant, upload=upload(data))).id_coll == (
        "21210010800027"
    )


def test_an_unsigned_dematerialised_flow_waits_for_its_signed_version(
    pes_member, accountant, pes_signer
):
    unsigned = samples.pes_aller(SIRET, bordereaux=(101, 102))
    flow = services.import_flow(actor=accountant, upload=upload(unsigned))
    assert fresh(flow).status == FlowStatus.IMPORTED

    # Another flow's signed file is not this flow.
    other = xades.sign_bordereaux(
        unsigned.replace(b"FOURNITURES SCOLAIRES ECOLE", b"FOURNITURES DE BUREAU ECOLE"), pes_signer
    )
    with pytest.raises(errors.NotTheSameFlow):
        services.sign_flow(actor=accountant, flow_id=flow.pk, upload=upload(other))
    assert fresh(flow).status == FlowStatus.IMPORTED

    services.sign_flow(
        actor=accountant,
        flow_id=flow.pk,
        upload=upload(xades.sign_bordereaux(unsigned, pes_signer)),
    )
    flow = fresh(flow)
    assert flow.status == FlowStatus.SIGNED
    assert len(flow.signatures) == 2
    assert actions(pes_member) == ["legality.pes_imported", "legality.pes_signed"]


def test_only_accounting_agents_of_a_subscribed_member_import(pes_member, accountant, agent_a):
    from django.core.exceptions import PermissionDenied

    from mutualis.core.errors import ServiceNotSubscribed

    with pytest.raises(PermissionDenied):
        services.import_flow(actor=agent_a, upload=upload(samples.pes_aller(SIRET)))
    subscribe(pes_member, active=False)
    with pytest.raises(ServiceNotSubscribed):
        services.import_flow(actor=accountant, upload=upload(samples.pes_aller(SIRET)))


# --- The gateway -----------------------------------------------------------------------


def test_a_flow_goes_to_the_gateway_and_its_acquit_comes_back_with_one_anomaly(
    client, agent_a, pes_member, accountant, pes_signer, pes_gateway
):
    standin = pes_gateway
    standin.anomalies = {"102"}
    flow = services.import_flow(
        actor=accountant, upload=upload(signed_flow(pes_signer, bordereaux=(101, 102)))
    )

    assert sending.deposit_due_flows()["sent"] == 1

    flow = fresh(flow)
    assert flow.status == FlowStatus.SENT
    deposited = standin.root / "entree" / flow.remote_name
    assert deposited.read_bytes() == read(flow.file)
    # Written under a temporary name then renamed: nothing else is left behind.
    assert sorted(p.name for p in (standin.root / "entree").iterdir()) == [flow.remote_name]
    # Nothing more to deposit.
    assert sending.deposit_due_flows()["sent"] == 0

    assert standin.process() == 1
    counts = sending.collect_acknowledgements()

    assert counts["processed"] == 1
    flow = fresh(flow)
    assert flow.status == FlowStatus.ACKNOWLEDGED
    assert flow.acknowledged_on == timezone.localdate()
    [anomaly] = flow.anomalies
    assert (anomaly["bordereau"], anomaly["anomaly"]) == ("102", "ERREUR_CODIFICATION")
    assert flows.acquit_schema().validate(etree.fromstring(read(flow.acquit)))
    # The outbox is emptied once recorded; a second collection finds nothing.
    assert list((standin.root / "sortie").iterdir()) == []
    assert sending.collect_acknowledgements()["processed"] == 0
    assert actions(pes_member) == [
        "legality.pes_imported",
        "legality.pes_signed",
        "legality.pes_sent",
        "legality.pes_acknowledged",
    ]
    with scopes_disabled():
        [event] = AuditEvent.objects.filter(action="legality.pes_sent")
    assert event.actor == "system:legality.pes_transmission"
    # The acknowledgement is read by the flow's accounting agents, nobody else.
    client.force_login(accountant.user)
    assert client.get(flow.acquit.url_for_organisation(pes_member.slug)).status_code == 200
    page = client.get(org_url("legality:pes:flow_detail", pk=flow.pk)).content.decode()
    assert "ERREUR_CODIFICATION" in page
    client.force_login(agent_a.user)
    assert client.get(flow.acquit.url_for_organisation(pes_member.slug)).status_code == 404


def test_a_technical_ko_refuses_the_flow(pes_member, accountant, pes_signer, pes_gateway):
    flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    sending.deposit_due_flows()
    aller = flows.read_aller(read(flow.file))
    acquit = flows.write_acquit(
        aller,
        [
            flows.AckElement(
                "technique", False, anomaly="ERREUR_SIGNATURE_INVALIDE", label="Signature invalide"
            )
        ],
        day=timezone.localdate(),
    )

    assert sending.receive(acquit, "ACK_1.xml") == "processed"
    flow = fresh(flow)
    assert flow.status == FlowStatus.REFUSED
    assert flow.anomalies[0]["label"] == "Signature invalide"
    # The same acquit read again is a duplicate and changes nothing.
    assert sending.receive(acquit, "ACK_1.xml") == "duplicate"


def test_a_name_already_on_the_gateway_is_not_written_twice(
    pes_member, accountant, pes_signer, pes_gateway
):
    flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    # An earlier attempt deposited it, and its answer was lost.
    (pes_gateway.root / "entree" / flow.remote_name).write_bytes(b"earlier")

    assert sending.deposit_due_flows()["sent"] == 1
    assert (pes_gateway.root / "entree" / flow.remote_name).read_bytes() == b"earlier"
    with scopes_disabled():
        [event] = AuditEvent.objects.filter(action="legality.pes_sent")
    assert event.payload["already_there"] is True


def test_a_wrong_host_key_sends_nothing_and_is_retried_then_fails(
    client, pes_member, accountant, pes_signer, pes_gateway, settings
):
    # The pinned key is another one (here the client's own): the server is not trusted.
    settings.MUTUALIS_PES_SFTP_HOST_KEY = (
        "ssh-ed25519 " + gateway.host_key_line(pes_gateway.keys.client_public()).split()[1]
    )
    flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    now = timezone.now()

    assert sending.deposit_due_flows(now=now)["retry"] == 1
    flow = fresh(flow)
    assert flow.status == FlowStatus.SIGNED
    assert "host key" in flow.error_reason
    assert list((pes_gateway.root / "entree").iterdir()) == []
    # Not due before the back-off; the last attempt puts the flow in error.
    assert sending.deposit_due_flows(now=now + timedelta(seconds=30))["retry"] == 0
    assert sending.deposit_due_flows(now=now + timedelta(seconds=61))["failed"] == 1
    flow = fresh(flow)
    assert flow.status == FlowStatus.ERROR
    assert flow.send_attempts == 2

    # The operator fixed the pinning; the agent sends the flow again, from its page.
    settings.MUTUALIS_PES_SFTP_HOST_KEY = pes_gateway.host_public_key
    client.force_login(accountant.user)
    client.post(org_url("legality:pes:flow_retry", pk=flow.pk))
    assert (fresh(flow).status, fresh(flow).send_attempts) == (FlowStatus.SIGNED, 0)
    assert sending.deposit_due_flows()["sent"] == 1
    assert actions(pes_member)[-2:] == ["legality.pes_retried", "legality.pes_sent"]


def test_a_gateway_down_is_retried(pes_member, accountant, pes_signer, settings):
    settings.MUTUALIS_PES_SFTP_HOST = "127.0.0.1"
    settings.MUTUALIS_PES_SFTP_PORT = 9  # nothing listens there
    settings.MUTUALIS_PES_SFTP_HOST_KEY = "ssh-ed25519 AAAA"
    settings.MUTUALIS_PES_SFTP_KEY = make_key_pem()
    settings.MUTUALIS_PES_MAX_ATTEMPTS = 3
    flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))

    assert sending.deposit_due_flows()["retry"] == 1
    assert fresh(flow).status == FlowStatus.SIGNED
    assert "connection" in fresh(flow).error_reason


def test_a_wrong_client_key_is_refused_by_the_gateway(
    pes_member, accountant, pes_signer, pes_gateway, settings
):
    settings.MUTUALIS_PES_SFTP_KEY = make_key_pem()
    services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    assert sending.deposit_due_flows()["retry"] == 1
    assert list((pes_gateway.root / "entree").iterdir()) == []


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<not-xml", "not a valid PES_ACQUIT"),
        (b"\x00\x01binary", "not a valid PES_ACQUIT"),
        ("other member", "no member has the SIRET"),
        ("unknown flow", "no flow of this member is named"),
    ],
)
def test_what_cannot_be_routed_is_quarantined_and_kept(
    content, reason, pes_member, accountant, pes_gateway
):
    if content == "other member":
        aller = flows.read_aller(samples.pes_aller(OTHER_SIRET))
        content = flows.write_acquit(
            aller, [flows.AckElement("technique", True)], day=timezone.localdate()
        )
    elif content == "unknown flow":
        aller = flows.read_aller(samples.pes_aller(SIRET, name="PESALR1_NEVER_SENT"))
        content = flows.write_acquit(
            aller, [flows.AckElement("technique", True)], day=timezone.localdate()
        )
    (pes_gateway.root / "sortie" / "ACK_x.xml").write_bytes(content)

    counts = sending.collect_acknowledgements()

    assert counts["quarantined"] == 1
    with scopes_disabled():
        [row] = PesInbound.objects.all()
        assert reason in row.reason
        assert read(row.raw) == content
    assert list((pes_gateway.root / "sortie").iterdir()) == []


def test_the_api_channel_is_a_placeholder_that_sends_nothing(
    pes_member, accountant, pes_signer, settings
):
    settings.MUTUALIS_PES_TRANSPORT = "api"
    flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    assert sending.deposit_due_flows()["retry"] == 1
    assert "not available" in fresh(flow).error_reason


# --- Pages, permissions, isolation -----------------------------------------------------


def test_the_agent_imports_from_the_page_and_reads_the_flow(
    client, pes_member, accountant, pes_signer
):
    client.force_login(accountant.user)
    assert client.get(org_url("legality:pes:flows")).status_code == 200
    data = io.BytesIO(signed_flow(pes_signer))
    data.name = "flux.xml"

    response = client.post(org_url("legality:pes:flow_new"), {"file": data})

    [flow] = all_flows()
    assert response.status_code == 302
    page = client.get(org_url("legality:pes:flow_detail", pk=flow.pk))
    assert page.status_code == 200
    assert flow.nomfic in page.content.decode()
    assert "Marie Martin, maire" in page.content.decode()
    assert client.get(org_url("legality:pes:flows")).content.decode().count(flow.nomfic) == 1
    assert client.get(fresh(flow).file.url_for_organisation(pes_member.slug)).status_code == 200


def test_a_bad_upload_on_the_page_says_what_to_fix(client, pes_member, accountant):
    client.force_login(accountant.user)
    data = io.BytesIO(samples.pes_aller(OTHER_SIRET))
    data.name = "flux.xml"

    response = client.post(org_url("legality:pes:flow_new"), {"file": data})

    assert response.status_code == 200
    assert OTHER_SIRET in response.content.decode()
    assert all_flows() == []


def test_others_get_404(client, pes_member, accountant, pes_signer, agent_a, agent_b):
    flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    clerk = legality_agent(pes_member, "clerk.a@example.org", roles=("legality_agent",))

    for other in (agent_a, clerk):
        client.force_login(other.user)
        assert client.get(org_url("legality:pes:flows")).status_code == 404
        assert client.get(org_url("legality:pes:flow_detail", pk=flow.pk)).status_code == 404
        assert client.get(flow.file.url_for_organisation(pes_member.slug)).status_code == 404

    # Another member's accounting agent: its own path shows nothing of this flow.
    subscribe(agent_b.organisation)
    other_accountant = legality_agent(
        agent_b.organisation, "compta.b@example.org", roles=("legality_accountant",)
    )
    client.force_login(other_accountant.user)
    assert client.get(org_url("legality:pes:flow_detail", pk=flow.pk)).status_code == 404
    assert client.get(org_url("legality:pes:flow_detail", org=ORG_B, pk=flow.pk)).status_code == 404
    assert client.get(flow.file.url_for_organisation(ORG_B)).status_code == 404
    with pytest.raises(PermissionDenied):
        services.cancel_flow(actor=other_accountant, flow_id=flow.pk)
    assert fresh(flow).status == FlowStatus.SIGNED


def test_a_flow_that_has_not_left_is_withdrawn(client, pes_member, accountant, pes_signer):
    flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
    client.force_login(accountant.user)
    client.post(org_url("legality:pes:flow_cancel", pk=flow.pk))
    assert fresh(flow).status == FlowStatus.CANCELLED
    assert sending.deposit_due_flows()["sent"] == 0


def test_a_nomfic_with_path_characters_stays_in_the_deposit_folder(
    pes_member, accountant, pes_gateway
):
    data = samples.pes_aller(SIRET, dematerialised=False, name="../../sortie/EVIL FLOW")
    flow = services.import_flow(actor=accountant, upload=upload(data))

    assert sending.deposit_due_flows()["sent"] == 1

    flow = fresh(flow)
    assert "/" not in flow.remote_name
    assert [p.name for p in (pes_gateway.root / "entree").iterdir()] == [flow.remote_name]
    assert list((pes_gateway.root / "sortie").iterdir()) == []


def test_a_flow_signed_once_globally_is_accepted(pes_member, accountant, pes_signer):
    root = etree.fromstring(samples.pes_aller(SIRET, bordereaux=(101, 102)))
    root.set("Id", "PES_GLOBAL")
    xades.sign_element(root, pes_signer)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert flows.aller_schema().validate(etree.fromstring(data))

    flow = fresh(services.import_flow(actor=accountant, upload=upload(data)))

    assert flow.status == FlowStatus.SIGNED
    assert flow.signatures == [{"bordereau": "global"}]
    # Altered after signing: refused.
    with pytest.raises(errors.SignatureInvalid):
        services.import_flow(
            actor=accountant,
            upload=upload(data.replace(b"_000001", b"_000002").replace(b"1520.40", b"1520.41")),
        )


def test_the_stand_in_answers_by_itself_after_its_delay(
    pes_member, accountant, pes_signer, tmp_path, settings
):
    from mutualis.legality.pes.standin import GatewayStandin

    standin = GatewayStandin(tmp_path / "gw", tmp_path / "keys", delay=0.3, tick=0.1).start()
    try:
        settings.MUTUALIS_PES_SFTP_HOST = standin.host
        settings.MUTUALIS_PES_SFTP_PORT = standin.port
        settings.MUTUALIS_PES_SFTP_USER = standin.user
        settings.MUTUALIS_PES_SFTP_KEY = str(standin.keys.client_key)  # a path this time
        settings.MUTUALIS_PES_SFTP_HOST_KEY = standin.host_public_key
        flow = services.import_flow(actor=accountant, upload=upload(signed_flow(pes_signer)))
        assert sending.deposit_due_flows()["sent"] == 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not list((standin.root / "sortie").iterdir()):
            time.sleep(0.1)
        assert sending.collect_acknowledgements()["processed"] == 1
    finally:
        standin.stop()
    assert fresh(flow).status == FlowStatus.ACKNOWLEDGED
    assert fresh(flow).anomalies == []


def test_the_jobs_are_declared():
    from mutualis.core import registry

    names = {job.name for job in registry.periodic_jobs()}
    assert {"legality_deposit_pes", "legality_collect_pes_acquits"} <= names


@pytest.mark.parametrize(
    "content",
    [b"\x00" * 64, b"<?xml version='1.0'?><a>\xff\xfe</a>", b"A" * 5000],
)
def test_no_file_content_reaches_a_500_from_the_page(client, pes_member, accountant, content):
    client.force_login(accountant.user)
    data = io.BytesIO(content)
    data.name = "fl\u00efux \u00e9t\u00e9.xml"

    response = client.post(org_url("legality:pes:flow_new"), {"file": data})

    assert response.status_code == 200
    assert all_flows() == []
