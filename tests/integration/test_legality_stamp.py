"""After the prefecture's acknowledgement: the act's stamped PDF (an incremental update of
the original, with a QR code to its verification page), its acknowledgement slip, and
the publication date its agent records, which stamps it again."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from pypdf import PdfReader

from mutualis.core import files as file_store
from mutualis.core.models import AuditEvent
from mutualis.legality import errors, publication, services, stamping
from mutualis.legality.models import Act, ActStatus, Stamp
from tests.factories.core import ORG_B, org_url
from tests.factories.legality import enrol, legality_agent, prepare, subscribe

pytestmark = pytest.mark.django_db

IDENTIFIER = "021-212100108-20260203-DEL_2026_007-DE"
RECEIVED = date(2026, 2, 4)


@pytest.fixture
def member(org_a, agent_a):
    org_a.siren = "212100108"
    org_a.save(update_fields=["siren"])
    subscribe(org_a)
    enrol(agent_a)
    return org_a


@pytest.fixture
def clerk(member):
    return legality_agent(
        member, "clerk.a@example.org", roles=("legality_agent", "legality_sender")
    )


def send(clerk, number: str = "DEL_2026_007") -> Act:
    act = prepare(clerk, number=number, decided_on=date(2026, 2, 3))
    services.validate_act(actor=clerk, act_id=act.pk)
    # Sending is the transport's (another slice): the act has left.
    with scopes_disabled():
        Act.objects.filter(pk=act.pk).update(
            status=ActStatus.SENT, sent_at=datetime(2026, 2, 3, 15, 0, tzinfo=UTC)
        )
        return Act.objects.get(pk=act.pk)


def acknowledge(member, act, capture) -> Act:
    with capture(execute=True):
        services.acknowledge_act(
            organisation_id=member.pk, identifier=act.identifier, received_on=RECEIVED
        )
    with scope(organisation=member.pk):
        return Act.objects.select_related("document", "slip").get(pk=act.pk)


@pytest.fixture
def acknowledged(member, clerk, django_capture_on_commit_callbacks) -> Act:
    return acknowledge(member, send(clerk), django_capture_on_commit_callbacks)


def read(stored) -> bytes:
    with file_store.open_stored_file(stored) as handle:
        return handle.read()


def stamps_of(act) -> list[Stamp]:
    with scope(organisation=act.organisation_id):
        return list(Stamp.objects.filter(act=act).select_related("file"))


def actions(org) -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=f"org:{org.pk}", action__startswith="legality.")
            .order_by("sequence")
            .values_list("action", flat=True)
        )


def test_an_acknowledged_act_is_stamped_in_the_background(member, acknowledged):
    [stamp] = stamps_of(acknowledged)
    content = read(stamp.file)
    text, link = stamping.stamp_of(content)

    assert "Envoyé en préfecture le 03/02/2026" in text
    assert "Reçu en préfecture le 04/02/2026" in text
    assert f"ID : {IDENTIFIER}" in text
    assert "Publié le" not in text
    assert len(acknowledged.verification_token) >= 32
    assert link == publication.verification_url(acknowledged.verification_token)
    assert link.endswith(f"/actes/verification/{acknowledged.verification_token}/")
    assert stamp.file.sha256 == hashlib.sha256(content).hexdigest()
    assert stamp.file.content_type == "application/pdf"
    assert actions(member)[-2:] == ["legality.act_acknowledged", "legality.act_stamped"]


def test_the_stamp_is_an_incremental_update_keeping_the_original_bytes(acknowledged):
    """The original bytes are an exact prefix of the stamped file: a signature covering
    them (its byte range) still verifies on the stamped copy."""
    [stamp] = stamps_of(acknowledged)
    original = read(acknowledged.document)
    stamped = read(stamp.file)

    assert hashlib.sha256(original).hexdigest() == acknowledged.document.sha256
    assert len(stamped) > len(original)
    assert stamped[: len(original)] == original
    # One update appended: a second cross-reference section pointing back to the first.
    appended = stamped[len(original) :]
    assert appended.count(b"%%EOF") == 1
    assert b"/Prev" in appended
    reader = PdfReader(io.BytesIO(stamped))
    assert len(reader.pages) == 1
    assert "Délibération" in reader.pages[0].extract_text()


def _drawn_modules(stamped: bytes) -> set[tuple[int, int]]:
    """The dark modules the stamp's appearance draws (column, row), from the squares of
    its content stream, normalised to the top-left dark module."""
    reader = PdfReader(io.BytesIO(stamped))
    [annotation] = [
        a.get_object()
        for a in reader.pages[0]["/Annots"]
        if a.get_object().get("/NM") == stamping.STAMP_NAME
    ]
    data = annotation["/AP"]["/N"].get_object().get_data().decode("latin-1")
    qr_part = data[data.index("q 0 0 0 rg") :]
    squares = [
        (float(x), float(y), float(s))
        for x, y, s in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) [\d.]+ re", qr_part)
    ]
    step = squares[0][2]
    left = min(x for x, _y, _s in squares)
    top = max(y for _x, y, _s in squares)
    return {(round((x - left) / step), round((top - y) / step)) for x, y, _s in squares}


def _expected_modules(url: str) -> set[tuple[int, int]]:
    matrix = stamping.qr_code(url).matrix
    dark = {(c, r) for r, row in enumerate(matrix) for c, value in enumerate(row) if value}
    left = min(c for c, _r in dark)
    top = min(r for _c, r in dark)
    return {(c - left, r - top) for c, r in dark}


def test_the_qr_code_draws_the_verification_address(acknowledged):
    """No QR decoder is installed: the squares drawn in the stamp are compared, module by
    module, with the QR code segno makes of the verification address."""
    [stamp] = stamps_of(acknowledged)
    url = publication.verification_url(acknowledged.verification_token)
    assert _drawn_modules(read(stamp.file)) == _expected_modules(url)
    assert _drawn_modules(read(stamp.file)) != _expected_modules(url + "x")


def test_the_slip_names_the_act_and_every_transmitted_file(member, acknowledged):
    slip = read(acknowledged.slip)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(slip)).pages)

    with scope(organisation=member.pk):
        annex = acknowledged.annexes.select_related("file").get()
        package = Act.objects.select_related("package").get(pk=acknowledged.pk).package
    assert "Accusé de réception" in text
    assert IDENTIFIER in text
    assert "Délibération" in text  # the nature, in French
    assert "Attribution du marché de voirie" in text
    assert member.name in text
    assert "Date d'envoi en préfecture : 03/02/2026" in text
    assert "Date de réception en préfecture : 04/02/2026" in text
    assert acknowledged.document.sha256 in text
    assert annex.file.sha256 in text
    assert package.sha256 in text
    assert publication.verification_url(acknowledged.verification_token) in text


def test_stamping_twice_makes_nothing_more(member, acknowledged):
    publication.stamp_act(organisation_id=member.pk, act_id=acknowledged.pk)
    assert len(stamps_of(acknowledged)) == 1
    assert actions(member).count("legality.act_stamped") == 1


def test_an_act_not_acknowledged_is_not_stamped(member, clerk):
    act = send(clerk)
    assert publication.stamp_act(organisation_id=member.pk, act_id=act.pk) is None
    assert stamps_of(act) == []


def test_recording_the_publication_stamps_the_act_again(
    member, clerk, acknowledged, django_capture_on_commit_callbacks
):
    published_on = date(2026, 2, 10)
    with django_capture_on_commit_callbacks(execute=True):
        publication.record_publication(
            actor=clerk, act_id=acknowledged.pk, published_on=published_on
        )

    latest, earlier = stamps_of(acknowledged)
    assert latest.published_on == published_on
    assert earlier.published_on is None
    text, _link = stamping.stamp_of(read(latest.file))
    assert "Publié le 10/02/2026" in text
    assert "Reçu en préfecture le 04/02/2026" in text
    # Stamped from the original again, not over the earlier stamp.
    assert read(latest.file).startswith(read(acknowledged.document))
    assert read(latest.file).count(b"%%EOF") == 2
    assert latest.file.sha256 != earlier.file.sha256
    with scopes_disabled():
        event = AuditEvent.objects.get(action="legality.act_published")
    assert event.payload["published_on"] == "2026-02-10"
    assert actions(member)[-2:] == ["legality.act_published", "legality.act_stamped"]


def test_the_publication_date_follows_the_rules(member, clerk, acknowledged):
    with pytest.raises(errors.PublicationBeforeDecision):
        publication.record_publication(
            actor=clerk, act_id=acknowledged.pk, published_on=date(2026, 2, 2)
        )
    with pytest.raises(errors.PublicationInFuture):
        publication.record_publication(
            actor=clerk,
            act_id=acknowledged.pk,
            published_on=timezone.localdate() + timedelta(days=1),
        )
    # The decision day itself and today are both allowed.
    publication.record_publication(
        actor=clerk, act_id=acknowledged.pk, published_on=date(2026, 2, 3)
    )
    publication.record_publication(
        actor=clerk, act_id=acknowledged.pk, published_on=timezone.localdate()
    )
    assert actions(member).count("legality.act_published") == 2


def test_an_act_not_acknowledged_cannot_be_published(clerk):
    act = send(clerk, "DEL_2026_008")
    with pytest.raises(errors.NotAcknowledged):
        publication.record_publication(actor=clerk, act_id=act.pk, published_on=date(2026, 2, 5))


def test_only_the_members_legality_agent_records_the_publication(member, acknowledged, agent_b):
    sender = legality_agent(member, "sender.a@example.org", roles=("legality_sender",))
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        publication.record_publication(
            actor=sender, act_id=acknowledged.pk, published_on=date(2026, 2, 5)
        )
    subscribe(agent_b.organisation)
    other = legality_agent(agent_b.organisation, "clerk.b@example.org")
    with pytest.raises(PermissionDenied):
        publication.record_publication(
            actor=other, act_id=acknowledged.pk, published_on=date(2026, 2, 5)
        )


# --- Pages -----------------------------------------------------------------------------


def test_the_agent_finds_the_stamped_act_the_slip_and_the_verification_address(
    client, member, clerk, acknowledged
):
    client.force_login(clerk.user)
    page = client.get(org_url("legality:act_detail", pk=acknowledged.pk)).content.decode()
    [stamp] = stamps_of(acknowledged)

    assert stamp.file.url_for_organisation(member.slug) in page
    assert acknowledged.slip.url_for_organisation(member.slug) in page
    assert publication.verification_url(acknowledged.verification_token) in page
    assert org_url("legality:act_publication", pk=acknowledged.pk) in page

    download = client.get(stamp.file.url_for_organisation(member.slug))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == read(stamp.file)
    assert client.get(acknowledged.slip.url_for_organisation(member.slug)).status_code == 200


def test_the_agent_records_the_publication_from_the_page(
    client, member, clerk, acknowledged, django_capture_on_commit_callbacks
):
    client.force_login(clerk.user)
    url = org_url("legality:act_publication", pk=acknowledged.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"published_on": "2026-02-10"})
    assert response.status_code == 302
    assert len(stamps_of(acknowledged)) == 2

    refused = client.post(url, {"published_on": "2026-01-01"})
    assert refused.status_code == 400
    assert "before its decision date" in refused.content.decode()
    for bad in ("not a date", "2026-02-10\x00", "9" * 5000):
        assert client.post(url, {"published_on": bad}).status_code == 400
    with scope(organisation=member.pk):
        assert Act.objects.get(pk=acknowledged.pk).published_on == date(2026, 2, 10)


def test_the_publication_form_needs_its_csrf_token(member, clerk, acknowledged):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(clerk.user)
    response = csrf_client.post(
        org_url("legality:act_publication", pk=acknowledged.pk), {"published_on": "2026-02-10"}
    )
    assert response.status_code == 403
    with scope(organisation=member.pk):
        assert Act.objects.get(pk=acknowledged.pk).published_on is None


def test_another_member_and_a_member_without_the_role_get_404(
    client, member, acknowledged, agent_a, agent_b
):
    [stamp] = stamps_of(acknowledged)
    for person in (agent_a.user, agent_b.user):  # an administrator without the role; B
        client.force_login(person)
        assert client.get(org_url("legality:act_detail", pk=acknowledged.pk)).status_code == 404
        assert client.get(stamp.file.url_for_organisation(member.slug)).status_code == 404
        assert client.get(stamp.file.url_for_organisation(ORG_B)).status_code == 404
        assert client.get(acknowledged.slip.url_for_organisation(ORG_B)).status_code == 404
        posted = client.post(
            org_url("legality:act_publication", pk=acknowledged.pk),
            {"published_on": "2026-02-10"},
        )
        assert posted.status_code == 404


def _signed_pdf() -> tuple[bytes, object]:
    """A PDF signed with pyHanko by a self-signed certificate, and that certificate."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    from mutualis.core.pdf import text_pdf
    from mutualis.evidence.signatures import off_event_loop

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Maire de la commune A")])
    now = timezone.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=None,
    )
    out = io.BytesIO()
    off_event_loop(
        signers.sign_pdf,
        IncrementalPdfFileWriter(io.BytesIO(text_pdf(["Délibération signée"]))),
        signers.PdfSignatureMetadata(field_name="Signature1"),
        signer=signer,
        output=out,
    )
    return out.getvalue(), cert


def test_a_signature_in_the_act_still_verifies_on_the_stamped_copy():
    """Checked with pyHanko: the signature covers its revision intact and valid.
    (pyHanko's difference analysis reports the added annotations as "other" changes: it
    does not whitelist annotations yet.)"""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from mutualis.evidence.signatures import off_event_loop

    signed, cert = _signed_pdf()
    stamped = stamping.stamp_pdf(
        signed,
        lines=stamping.stamp_lines(
            identifier=IDENTIFIER, sent_on=None, received_on=RECEIVED, published_on=None
        ),
        url="https://mutualis.example.org/actes/verification/token/",
    )
    assert stamped.startswith(signed)
    [signature] = PdfFileReader(io.BytesIO(stamped)).embedded_signatures
    status = off_event_loop(
        validate_pdf_signature, signature, ValidationContext(trust_roots=[cert])
    )
    assert status.intact
    assert status.valid
    assert status.trusted
