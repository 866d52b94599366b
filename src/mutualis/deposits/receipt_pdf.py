"""The signed receipt PDF of an acknowledged deposit: made by a background job once the
acknowledgement is committed (``signals.deposit_acknowledged``), signed PAdES-B-T by the
platform with pyHanko, kept in the private file store (read by the company's
representatives and by the buyer's agents) and mailed to the representative who
deposited. Idempotent: a job run twice makes one PDF and sends one e-mail.

The signing key and certificate come from the environment (``MUTUALIS_RECEIPT_SIGNING_KEY``,
``MUTUALIS_RECEIPT_SIGNING_CERTIFICATE``, PEM, or their ``_FILE`` variants) or else from
the files ``mutualis setup`` writes once (``…_PATH``), like the time-stamping authority's
(``evidence.authority``). The certificate ``setup`` makes is self-signed: a checker
trusts the receipt once it trusts that certificate (published on the how-it-works page);
a third party's checker, once the operator installs a qualified certificate for the key
(the certificate text may carry its issuer's chain after it).

The signature's time-stamp (the "T" of B-T) comes from the platform's own authority,
in-process (``InProcessTimeStamper``), or from ``MUTUALIS_RECEIPT_TSA_URL`` (an external,
qualified authority, over HTTP) when the operator sets one.
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_scopes import scope
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.errors import MutualisError
from mutualis.core.mail import Attachment, queue_email, render_text
from mutualis.core.models import StoredFile
from mutualis.core.pdf import text_document
from mutualis.core.secret_files import write_new
from mutualis.evidence import authority as tsa_authority
from mutualis.evidence import timestamps
from mutualis.evidence.signatures import off_event_loop

from .models import Deposit

logger = logging.getLogger(__name__)

RECEIPT_OWNER_KIND = "deposits.receipt_pdf"
PDF = "application/pdf"
MAKER = audit.SystemActor("deposits.receipt_pdf")
CERTIFICATE_DAYS = 10 * 366


class ReceiptSigningNotConfigured(MutualisError):
    code = "receipt_signing_not_configured"
    message = "The receipt signing key or certificate is missing: run `mutualis setup`."


# --- The signing key and certificate -----------------------------------------------------


def _key_pem() -> str:
    pem = str(settings.MUTUALIS_RECEIPT_SIGNING_KEY)
    if pem:
        return pem
    path = Path(settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH)
    if not path.exists():
        raise ReceiptSigningNotConfigured
    return path.read_text()


def _certificate_pem() -> str:
    pem = str(settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE)
    if pem:
        return pem
    path = Path(settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH)
    if not path.exists():
        raise ReceiptSigningNotConfigured
    return path.read_text()


def certificate_pem() -> str:
    """The signing certificate (and chain), PEM, for the page that publishes it."""
    return _certificate_pem()


@functools.lru_cache(maxsize=4)
def _signer(key_text: str, certificate_text: str) -> signers.SimpleSigner:
    key = load_private_key_from_pemder_data(key_text.encode(), passphrase=None)
    certificates = list(load_certs_from_pemder_data(certificate_text.encode()))
    if not certificates:
        raise ReceiptSigningNotConfigured
    return signers.SimpleSigner(
        signing_cert=certificates[0],
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs(certificates),  # type: ignore[no-untyped-call]
    )


def load_signer() -> signers.SimpleSigner:
    return _signer(_key_pem(), _certificate_pem())


def new_certificate(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, *, name: str
) -> x509.Certificate:
    """A self-signed certificate for signing receipts: digital signature and
    non-repudiation (content commitment), not a CA."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name[:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} - accuses de reception"[:64]),
        ]
    )
    now = datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def ensure_signing_key() -> list[str]:
    """Create the receipt signing key, then its certificate, where each is missing and
    not given by the environment; never replace one. Returns the paths created."""
    done: list[str] = []
    key_path = Path(settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH)
    certificate_path = Path(settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH)
    if not settings.MUTUALIS_RECEIPT_SIGNING_KEY and not key_path.exists():
        pem = tsa_authority.new_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if write_new(key_path, pem, 0o600):
            done.append(str(key_path))
    if not settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE and not certificate_path.exists():
        key = serialization.load_pem_private_key(_key_pem().encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise ReceiptSigningNotConfigured
        certificate = new_certificate(key, name=str(settings.MUTUALIS_PLATFORM_NAME))
        if write_new(certificate_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644):
            done.append(str(certificate_path))
    return done


# --- The signature's time-stamp ------------------------------------------------------------


def _respond(request_der: bytes) -> bytes:
    return timestamps.respond(request_der)


class InProcessTimeStamper(TimeStamper):
    """pyHanko's time-stamper asking the platform's own authority, without HTTP.

    pyHanko runs its signing in an event loop; the authority writes a row (the token's
    serial number). ``sync_to_async(thread_sensitive=True)`` under ``async_to_sync`` runs
    that write back in the calling thread, inside the job's transaction."""

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        answer = await sync_to_async(_respond, thread_sensitive=True)(req.dump())
        return tsp.TimeStampResp.load(answer)


def _time_stamper() -> TimeStamper:
    url = str(settings.MUTUALIS_RECEIPT_TSA_URL)
    if url:
        return HTTPTimeStamper(url, timeout=10)
    return InProcessTimeStamper()  # type: ignore[no-untyped-call]


def sign_pdf(content: bytes) -> bytes:
    """``content`` signed PAdES-B-T by the platform (a new revision)."""
    signer = load_signer()
    metadata = signers.PdfSignatureMetadata(
        field_name="AccuseDeReception",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Accuse de reception d'un pli electronique",
        location=str(settings.MUTUALIS_PLATFORM_NAME)[:100],
    )
    pdf_signer = signers.PdfSigner(metadata, signer=signer, timestamper=_time_stamper())
    output = io.BytesIO()

    def sign() -> None:
        async_to_sync(pdf_signer.async_sign_pdf)(
            IncrementalPdfFileWriter(io.BytesIO(content)), output=output
        )

    # ``async_to_sync`` refuses a thread that already runs an event loop (a test browser
    # driven from this thread): the signing then runs in a worker thread.
    off_event_loop(sign)
    return output.getvalue()


# --- The document ----------------------------------------------------------------------


@dataclass(frozen=True)
class TokenFacts:
    serial_number: int | None
    gen_time: datetime.datetime | None


def token_facts(token: bytes | memoryview | None) -> TokenFacts:
    """What an RFC 3161 token states (read, not verified: the receipt shows it, the
    verification is the token's own, with ``openssl ts -verify``)."""
    if not token:
        return TokenFacts(None, None)
    try:
        content = cms.ContentInfo.load(bytes(token))["content"]
        tst_info = content["encap_content_info"]["content"].parsed
        return TokenFacts(int(tst_info["serial_number"].native), tst_info["gen_time"].native)
    except (ValueError, TypeError, KeyError, AttributeError):
        return TokenFacts(None, None)


def _size(value: int) -> str:
    return _("%(bytes)s bytes") % {"bytes": f"{value:,}".replace(",", "\u202f")}


def _when(value: datetime.datetime | None) -> str:
    if value is None:
        return "-"
    local = timezone.localtime(value)
    return f"{date_format(local, 'j F Y, H:i:s')} ({local.tzname()}) - {value.isoformat()}"


def receipt_lines(deposit: Deposit, consultation: Any, company: Any) -> list[tuple[str, bool]]:
    """The receipt's text, in the active language (French when the job makes it)."""
    facts = token_facts(deposit.timestamp_token)
    lines: list[tuple[str, bool]] = [
        (_("Acknowledgement of receipt of an electronic response"), True),
        (_("Deposit reference: %(reference)s") % {"reference": deposit.reference}, False),
        (
            _("Consultation: %(reference)s - %(title)s")
            % {"reference": consultation.reference, "title": consultation.title},
            False,
        ),
        (_("Buyer: %(name)s") % {"name": consultation.organisation.name}, False),
        (
            _("Company: %(name)s (SIREN %(siren)s)")
            % {"name": company.name, "siren": company.siren},
            False,
        ),
        (_("Received on: %(time)s") % {"time": _when(deposit.received_at)}, False),
        (
            _("Deadline for responses: %(time)s") % {"time": _when(consultation.response_deadline)},
            False,
        ),
        (
            _("LATE: received after the deadline; kept sealed, shown apart at the opening.")
            if deposit.late
            else _("Received before the deadline."),
            bool(deposit.late),
        ),
        (_("Files (encrypted in the bidder's browser before sending)"), True),
    ]
    for number, item in enumerate(deposit.files.all(), start=1):
        lines += [
            (f"{number}. {item.name}", False),
            (_("   size: %(size)s") % {"size": _size(item.plaintext_size)}, False),
            (_("   SHA-256 of the file: %(digest)s") % {"digest": item.plaintext_sha256}, False),
            (
                _("   SHA-256 of the encrypted file (%(size)s): %(digest)s")
                % {"size": _size(item.ciphertext_size), "digest": item.ciphertext_sha256},
                False,
            ),
        ]
    lines += [
        (_("Proof"), True),
        (_("Receipt digest (SHA-256): %(digest)s") % {"digest": deposit.receipt_digest}, False),
        (
            _("Time-stamp token: serial number %(serial)s, time %(time)s")
            % {"serial": facts.serial_number or "-", "time": _when(facts.gen_time)},
            False,
        ),
        (
            _(
                "The receipt digest is an entry of the consultation's public deposit log. After "
                "the deadline the log's Merkle root and count are published on the "
                "consultation's page; the inclusion proof of this deposit is then available in "
                "the company's space."
            ),
            False,
        ),
        (
            _(
                "This document is signed electronically by the platform (PAdES) and time-stamped; "
                "the signing certificate is published on the page describing how deposits work."
            ),
            False,
        ),
    ]
    return lines


def _locked_deposit(deposit_id: int) -> Deposit | None:
    return (
        Deposit.for_organisation.select_for_update(of=("self",))
        .filter(pk=deposit_id)
        .exclude(receipt_digest="")
        .first()
    )


def make_receipt_pdf(deposit_id: int) -> StoredFile | None:
    """Build, sign, store and mail the deposit's receipt PDF, once: a second run finds
    the PDF made and does nothing. None when the deposit is unknown or not acknowledged."""
    from . import crossings

    parties = crossings.parties_of_deposit(deposit_id)
    if parties is None:
        return None
    organisation_id, company_id = parties
    with transaction.atomic(), scope(organisation=organisation_id):
        deposit = _locked_deposit(deposit_id)
        if deposit is None:
            return None
        if deposit.receipt_pdf_id is not None:
            return deposit.receipt_pdf
        from mutualis.companies.models import Company
        from mutualis.procurement.models import Consultation

        consultation = Consultation.objects.select_related("organisation").get(
            pk=deposit.consultation_id
        )
        company = Company.objects.get(pk=company_id)
        with translation.override("fr"):
            lines = receipt_lines(deposit, consultation, company)
            title = _("Acknowledgement of receipt %(reference)s") % {"reference": deposit.reference}
        signed = sign_pdf(text_document(lines, title=title))
        name = f"accuse-reception-{deposit.reference}.pdf"
        stored = file_store.store_file(
            file=io.BytesIO(signed),
            name=name,
            owner_kind=RECEIPT_OWNER_KIND,
            owner_ref=str(deposit.pk),
            allowed_types=frozenset({PDF}),
        )
        deposit.receipt_pdf = stored
        deposit.save(update_fields=["receipt_pdf"])
        audit.record(
            actor=MAKER,
            action="deposits.receipt_pdf_made",
            chain=audit.company_chain(company_id),
            target=deposit,
            payload={
                "reference": deposit.reference,
                "file": str(stored.pk),
                "sha256": stored.sha256,
            },
        )
        _mail(deposit, consultation, company, signed, name)
    return stored


def _recipients(deposit: Deposit) -> list[str]:
    """Who receives the PDF: the representative who deposited; for a deposit made by an
    API client (no person), the company's active administrators."""
    if deposit.user is not None:
        return [deposit.user.email] if deposit.user.email else []
    from mutualis.companies.selectors import notified_emails

    return notified_emails(deposit.company_id)


def _mail(deposit: Deposit, consultation: Any, company: Any, content: bytes, name: str) -> None:
    recipients = _recipients(deposit)
    if not recipients:
        return
    context = {
        "deposit": deposit,
        "consultation": consultation,
        "company": company,
        "platform_name": settings.MUTUALIS_PLATFORM_NAME,
    }
    subjects, bodies = [], []
    for language in ("fr", "en"):
        with translation.override(language):
            context["received_text"] = _when(deposit.received_at)
            subjects.append(
                " ".join(render_text("deposits/proof_receipt_subject.txt", context).split())
            )
            bodies.append(render_text("deposits/proof_receipt_message.txt", context).strip())
    for to in recipients:
        queue_email(
            to=to,
            subject=subjects[0],
            body_text=bodies[0] + "\n\n---- English ----\n\n" + bodies[1] + "\n",
            attachments=[Attachment(name, PDF, content)],
        )


def on_deposit_acknowledged(sender: Any, deposit_id: int, **kwargs: Any) -> None:
    """``signals.deposit_acknowledged`` (sent once the acknowledgement committed): the
    PDF is made in the background."""
    from .proof_tasks import make_receipt_pdf as task

    task.enqueue(deposit_id=deposit_id)


def can_read_receipt_pdf(request: HttpRequest, stored_file: StoredFile) -> bool:
    """A receipt PDF is read by the company's representatives (``/c/<siren>/files/…``)
    and by the buyer's agents of the consultation's organisation (``/o/<slug>/files/…``);
    anyone else gets 404."""
    representation: Any = getattr(request, "representation", None)
    if representation is not None:
        return Deposit.for_company.filter(
            company_id=representation.company_id, receipt_pdf_id=stored_file.pk
        ).exists()
    membership: Any = getattr(request, "membership", None)
    if membership is not None and membership.has_role("buyer"):
        return Deposit.for_organisation.filter(
            organisation_id=membership.organisation_id, receipt_pdf_id=stored_file.pk
        ).exists()
    return False


def receipt_pdf_url(deposit: Deposit, siren: str) -> str | None:
    """Where the company downloads its receipt PDF, once made."""
    from django.urls import reverse

    if deposit.receipt_pdf_id is None:
        return None
    return reverse(
        "company_files:download",
        kwargs={"company": siren, "file_id": deposit.receipt_pdf_id, "name": "accuse.pdf"},
    )
