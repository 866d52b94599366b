"""The signed receipt PDF: made by a background job once a deposit is acknowledged,
PAdES-B-T (validated by pyHanko against the platform's certificates), stored privately
(the company's representatives and the buyer read it, nobody else), mailed once."""

from __future__ import annotations

import io
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scope, scopes_disabled
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from mutualis.companies import services as company_services
from mutualis.companies.models import JoinRequest, Representative
from mutualis.core import audit, files
from mutualis.core.models import AuditEvent, StoredFile
from mutualis.deposits import receipt_pdf, signals
from mutualis.deposits.models import Deposit
from mutualis.evidence import authority, timestamps
from mutualis.evidence.signatures import off_event_loop
from tests.factories.companies import (
    SITE_URL,
    company_siren,
    register_company,
    valid_siret,
    verified_person,
)
from tests.factories.deposits_proof import make_deposit
from tests.factories.identity import make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keys(settings) -> None:
    authority.ensure_authority()
    receipt_pdf.ensure_signing_key()


@pytest.fixture
def buyer(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    return agent_a


@pytest.fixture
def consultation(buyer):
    return make_consultation(buyer, publish=True)


@pytest.fixture
def rep_x(db):
    return register_company(verified_person("alice.x@example.org"), siren=company_siren(1))


@pytest.fixture
def rep_y(db):
    return register_company(
        verified_person("dave.y@example.org"), siren=company_siren(2), name="Plomberie Y"
    )


def certificate(path) -> asn1_x509.Certificate:
    data = Path(path).read_bytes()
    _type, _headers, der = pem.unarmor(data)
    return asn1_x509.Certificate.load(der)


def stored_bytes(stored: StoredFile) -> bytes:
    with files.open_stored_file(stored) as handle:
        return handle.read()


def validate(content: bytes, settings):
    signer_context = ValidationContext(
        trust_roots=[certificate(settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH)],
        allow_fetching=False,
    )
    tsa_context = ValidationContext(
        trust_roots=[certificate(settings.MUTUALIS_TSA_CERTIFICATE_PATH)], allow_fetching=False
    )
    reader = PdfFileReader(io.BytesIO(content))
    (signature,) = reader.embedded_signatures
    # pyHanko's synchronous API refuses a thread running an event loop (a browser test's).
    return off_event_loop(
        validate_pdf_signature,
        signature,
        signer_validation_context=signer_context,
        ts_validation_context=tsa_context,
    )


def deposit_email():
    return [m for m in mail.outbox if "Accusé de réception" in m.subject]


def acknowledge(deposit, django_capture_on_commit_callbacks):
    """What the deposit services do once an acknowledgement is durable."""
    with django_capture_on_commit_callbacks(execute=True):
        signals.send_on_commit(signals.deposit_acknowledged, deposit_id=deposit.pk)


def test_the_acknowledgement_makes_a_signed_time_stamped_pdf_mailed_once(
    consultation, rep_x, settings, django_capture_on_commit_callbacks
):
    deposit = make_deposit(consultation, rep_x)
    acknowledge(deposit, django_capture_on_commit_callbacks)
    with scopes_disabled():
        deposit = Deposit.for_organisation.select_related("receipt_pdf").get(pk=deposit.pk)
    stored = deposit.receipt_pdf
    assert stored is not None
    assert stored.owner_kind == receipt_pdf.RECEIPT_OWNER_KIND
    content = stored_bytes(stored)

    status = validate(content, settings)
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact
    assert status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    (signature,) = PdfFileReader(io.BytesIO(content)).embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert deposit.reference in text
    assert consultation.reference in text
    assert rep_x.company.siren in text
    assert deposit.receipt_digest in text
    for item in deposit.receipt["files"]:
        assert item["name"] in text
        assert item["plaintext_sha256"] in text
        assert item["ciphertext_sha256"] in text
    assert "Numéro de série" in text or "numéro de série" in text

    (message,) = deposit_email()
    assert message.to == [rep_x.user.email]
    (attachment,) = message.attachments
    assert attachment[0] == f"accuse-reception-{deposit.reference}.pdf"
    assert attachment[1] == content

    # The job runs again (a retry, a second worker): nothing new.
    assert receipt_pdf.make_receipt_pdf(deposit.pk).pk == stored.pk
    assert len(deposit_email()) == 1
    with scopes_disabled():
        events = AuditEvent.objects.filter(
            chain=audit.company_chain(rep_x.company_id), action="deposits.receipt_pdf_made"
        )
        assert events.count() == 1


def test_a_late_deposit_says_so(consultation, rep_x, settings):
    from tests.factories.deposits_proof import move_deadline, past

    move_deadline(consultation, past())
    deposit = make_deposit(consultation, rep_x)
    assert deposit.late
    stored = receipt_pdf.make_receipt_pdf(deposit.pk)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(stored_bytes(stored))).pages)
    assert "EN RETARD" in text


def test_nothing_is_made_for_an_unknown_or_unacknowledged_deposit(consultation, rep_x):
    assert receipt_pdf.make_receipt_pdf(10**9) is None
    deposit = make_deposit(consultation, rep_x)
    with scopes_disabled():
        Deposit.for_organisation.filter(pk=deposit.pk).update(receipt_digest="", state="receiving")
    assert receipt_pdf.make_receipt_pdf(deposit.pk) is None
    assert not StoredFile.objects.filter(owner_kind=receipt_pdf.RECEIPT_OWNER_KIND).exists()


def test_the_company_and_the_buyer_read_the_pdf_nobody_else(
    client, buyer, agent_b, consultation, rep_x, rep_y
):
    deposit = make_deposit(consultation, rep_x)
    stored = receipt_pdf.make_receipt_pdf(deposit.pk)
    company_url = reverse(
        "company_files:download",
        kwargs={"company": rep_x.company.siren, "file_id": stored.pk, "name": "accuse.pdf"},
    )
    buyer_url = reverse(
        "organisation_files:download",
        kwargs={"org": buyer.organisation.slug, "file_id": stored.pk, "name": "accuse.pdf"},
    )
    client.force_login(rep_x.user)
    assert client.get(company_url).status_code == 200
    client.force_login(rep_y.user)
    assert client.get(company_url).status_code == 404
    other_company_url = company_url.replace(rep_x.company.siren, rep_y.company.siren)
    assert client.get(other_company_url).status_code == 404
    client.force_login(buyer.user)
    assert client.get(buyer_url).status_code == 200
    # Another organisation's agent, and an agent of the buyer without the buyer role.
    client.force_login(agent_b.user)
    assert (
        client.get(
            buyer_url.replace(buyer.organisation.slug, agent_b.organisation.slug)
        ).status_code
        == 404
    )
    secretary = make_member(buyer.organisation, "secretary.a@example.org", roles=[])
    client.force_login(secretary.user)
    assert client.get(buyer_url).status_code == 404


def test_the_company_proof_page_links_the_pdf(client, consultation, rep_x):
    deposit = make_deposit(consultation, rep_x)
    stored = receipt_pdf.make_receipt_pdf(deposit.pk)
    client.force_login(rep_x.user)
    page = client.get(
        reverse(
            "company_deposits_proof:proof",
            kwargs={"company": rep_x.company.siren, "reference": deposit.reference},
        )
    )
    assert str(stored.pk) in page.content.decode()


def test_setup_creates_the_signing_key_once_and_publishes_the_certificate(
    client, settings, tmp_path
):
    settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH = tmp_path / "new" / "receipt-key.pem"
    settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH = tmp_path / "new" / "receipt-cert.pem"
    url = reverse("deposits_proof:receipt_certificate")
    assert client.get(url).status_code == 404
    out = io.StringIO()
    call_command("setup", stdout=out)
    assert "Receipt signing: created" in out.getvalue()
    key = Path(settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH).read_bytes()
    assert Path(settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH).stat().st_mode & 0o077 == 0
    again = io.StringIO()
    call_command("setup", stdout=again)
    assert "Receipt signing: its key and certificate exist." in again.getvalue()
    assert Path(settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH).read_bytes() == key
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == Path(settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH).read_bytes()


@pytest.fixture
def external_authority(monkeypatch):
    """An RFC 3161 service over HTTP in a thread of its own, standing in for a qualified
    authority: the platform's responder (same keys) with its serial numbers counted in
    memory, since an outside authority writes nothing in our database."""
    serials = itertools.count(1)
    monkeypatch.setattr(
        timestamps.IssuedTimestamp,
        "objects",
        SimpleNamespace(create=lambda **_fields: SimpleNamespace(pk=next(serials))),
    )
    asked: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = self.rfile.read(int(self.headers["Content-Length"]))
            asked.append(request)
            answer = timestamps.respond(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/tsa", asked=asked)
    finally:
        server.shutdown()
        server.server_close()


def test_an_external_authority_is_asked_when_configured(
    consultation, rep_x, settings, external_authority
):
    """MUTUALIS_RECEIPT_TSA_URL: pyHanko's HTTP time-stamper against an RFC 3161 service."""
    settings.MUTUALIS_RECEIPT_TSA_URL = external_authority.url
    deposit = make_deposit(consultation, rep_x)
    stored = receipt_pdf.make_receipt_pdf(deposit.pk)
    assert external_authority.asked
    status = validate(stored_bytes(stored), settings)
    assert status.valid
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.valid


def test_a_deposit_by_an_api_client_is_mailed_to_the_companys_administrators(
    consultation, rep_x, django_capture_on_commit_callbacks
):
    carol = verified_person("carol.x@example.org")
    company_services.sign_up_with_siret(
        user=carol, siret=valid_siret(rep_x.company.siren, 3), site_url=SITE_URL
    )
    with scope(company=rep_x.company_id):
        company_services.accept_join_request(
            actor=rep_x, join_request_id=JoinRequest.objects.get(user=carol).pk, site_url=SITE_URL
        )
        assert not Representative.objects.get(user=carol).is_admin
    deposit = make_deposit(consultation, rep_x)
    with scopes_disabled():
        Deposit.for_organisation.filter(pk=deposit.pk).update(user=None, api_client_id="client-1")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        receipt_pdf.make_receipt_pdf(deposit.pk)
    # The administrator only, not the other representative.
    assert [m.to for m in deposit_email()] == [[rep_x.user.email]]
