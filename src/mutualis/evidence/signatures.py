"""Electronic signatures found in documents: PAdES (a signed PDF), XAdES (an XML file
signed enveloped, or a detached signature beside the signed file) and detached CAdES
(a ``.p7s`` beside the signed file).

Each signature gets a :class:`SignatureReport`: who signed (the certificate's subject) and
who issued the certificate, when the signer says it signed, whether the certificate was
valid at that time, whether the document is intact (not altered since signing), and
whether the certificate chains to one of the trust anchors the operator configured
(``MUTUALIS_SIGNATURE_TRUST_ANCHORS``: a PEM file or a directory of them, typically the CAs
of the European trusted lists the platform accepts).

The cryptographic checks are the libraries': pyHanko for PDF (byte ranges, CMS, changes
after signing), signxml for XML (references, canonicalisation, XAdES signed properties),
cryptography for CMS. The chain to an anchor is built here, once for the three formats,
from the certificates the signature carries: no network fetch (no AIA, no OCSP or CRL),
so that a verification gives the same answer offline and never waits on a third party.
Revocation is therefore not checked; the report says so (``revocation_checked``).

A signature is reported, never raised on: a malformed file is a report whose ``problems``
say why, so that a commission sees every document's state.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime
import hashlib
import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import cms
from cryptography import exceptions as crypto_exceptions
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from django.conf import settings
from django.utils.translation import gettext as _

T = TypeVar("T")

PADES = "pades"
XADES = "xades"
CADES = "cades"

_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "sha1": hashes.SHA1(),  # noqa: S303 — reported, and old signatures still use it.
    "sha224": hashes.SHA224(),
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


@dataclasses.dataclass
class SignatureReport:
    """What a commission or an agent needs to know of one signature."""

    kind: str
    intact: bool = False
    signer: str = ""
    issuer: str = ""
    signing_time: datetime.datetime | None = None
    certificate_valid_at_signing: bool = False
    trusted: bool = False
    revocation_checked: bool = False
    certificate: x509.Certificate | None = None
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Intact, by a certificate valid when it signed, chaining to an anchor."""
        return self.intact and self.certificate_valid_at_signing and self.trusted


# --- Trust anchors and chains ----------------------------------------------------------


def trust_anchors() -> list[x509.Certificate]:
    """The operator's trust anchors: every certificate of the PEM file, or of the
    ``.pem``/``.crt`` files of the directory, that ``MUTUALIS_SIGNATURE_TRUST_ANCHORS``
    names."""
    location = str(settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS or "")
    if not location:
        return []
    path = Path(location)
    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() in (".pem", ".crt"))
        if path.is_dir()
        else [path]
    )
    anchors: list[x509.Certificate] = []
    for file in files:
        anchors.extend(x509.load_pem_x509_certificates(file.read_bytes()))
    return anchors


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, crypto_exceptions.InvalidSignature):
        return False
    return True


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return bool(constraints.value.ca)


def _valid_at(certificate: x509.Certificate, moment: datetime.datetime) -> bool:
    return certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc


def chains_to_anchor(
    certificate: x509.Certificate,
    pool: Iterable[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    moment: datetime.datetime,
) -> bool:
    """Whether ``certificate`` chains, through CA certificates of ``pool`` valid at
    ``moment``, to one of ``anchors`` (an anchor is trusted as given)."""
    intermediates = [c for c in pool if _is_ca(c)]
    current = certificate
    for _depth in range(8):
        if current in anchors:
            return True
        for anchor in anchors:
            if _issued_by(current, anchor):
                return True
        following = next(
            (
                c
                for c in intermediates
                if c != current and _valid_at(c, moment) and _issued_by(current, c)
            ),
            None,
        )
        if following is None:
            return False
        current = following
    return False


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


def _conclude(
    report: SignatureReport,
    certificate: x509.Certificate,
    pool: Iterable[x509.Certificate],
) -> SignatureReport:
    """Fill what every format shares: names, validity at signing time, trust."""
    report.certificate = certificate
    report.signer = _name(certificate.subject)
    report.issuer = _name(certificate.issuer)
    moment = report.signing_time or datetime.datetime.now(tz=datetime.UTC)
    if report.signing_time is None:
        report.problems.append(
            _("The signature states no signing time: the certificate is checked at present.")
        )
    report.certificate_valid_at_signing = _valid_at(certificate, moment)
    if not report.certificate_valid_at_signing:
        report.problems.append(_("The certificate was not valid at the signing time."))
    report.trusted = chains_to_anchor(certificate, pool, trust_anchors(), moment)
    if not report.trusted:
        report.problems.append(_("The certificate does not chain to a trusted authority."))
    return report


# --- CAdES (detached .p7s) -------------------------------------------------------------


def _verify_raw(
    public_key: Any,
    signature: bytes,
    data: bytes,
    algorithm: cms.SignedDigestAlgorithm,
    digest: str,
) -> bool:
    hash_ = _DIGESTS[digest]
    try:
        mechanism = algorithm.signature_algo
        if isinstance(public_key, rsa.RSAPublicKey):
            if mechanism == "rsassa_pss":
                parameters = algorithm["parameters"]
                pss_hash = _DIGESTS[parameters["hash_algorithm"]["algorithm"].native]
                public_key.verify(
                    signature,
                    data,
                    padding.PSS(
                        mgf=padding.MGF1(pss_hash), salt_length=parameters["salt_length"].native
                    ),
                    pss_hash,
                )
            else:
                public_key.verify(signature, data, padding.PKCS1v15(), hash_)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hash_))
        else:
            return False
    except (crypto_exceptions.InvalidSignature, ValueError, KeyError):
        return False
    return True


def verify_cades(signature: bytes, data: bytes) -> list[SignatureReport]:
    """Every signer of a detached CMS signature (``.p7s``, DER or PEM) over ``data``."""
    try:
        if signature.lstrip().startswith(b"-----BEGIN"):
            from asn1crypto import pem

            _type, _headers, signature = pem.unarmor(signature.strip())
        content_info = cms.ContentInfo.load(signature, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise ValueError("not a SignedData")
        signed_data = content_info["content"]
        if signed_data["encap_content_info"]["content"].native is not None:
            raise ValueError("not detached")
        pool = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed_data["certificates"] or []
            if c.name == "certificate"
        ]
        signer_infos = list(signed_data["signer_infos"])
    except (ValueError, TypeError, KeyError) as error:
        report = SignatureReport(CADES)
        report.problems.append(_("The file is not a detached CMS signature (.p7s)."))
        report.problems.append(str(error))
        return [report]
    return [_cades_signer(signer_info, pool, data) for signer_info in signer_infos]


def _cades_signer(
    signer_info: cms.SignerInfo, pool: list[x509.Certificate], data: bytes
) -> SignatureReport:
    report = SignatureReport(CADES)
    sid = signer_info["sid"]
    certificate = None
    for candidate in pool:
        if sid.name == "issuer_and_serial_number":
            matches = (
                candidate.serial_number == sid.chosen["serial_number"].native
                and candidate.issuer.public_bytes() == sid.chosen["issuer"].dump()
            )
        else:
            try:
                ski = candidate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            matches = ski.value.digest == sid.chosen.native
        if matches:
            certificate = candidate
            break
    if certificate is None:
        report.problems.append(_("The signature does not carry its signer's certificate."))
        return report
    digest = signer_info["digest_algorithm"]["algorithm"].native
    if digest not in _DIGESTS:
        report.problems.append(_("The signature's digest algorithm is not supported."))
        return _conclude(report, certificate, pool)
    signed_attributes = signer_info["signed_attrs"]
    signature = signer_info["signature"].native
    algorithm = signer_info["signature_algorithm"]
    if signed_attributes.native:
        attributes = {a["type"].native: a["values"][0] for a in signed_attributes}
        stated = attributes.get("message_digest")
        actual = hashlib.new(digest, data).digest()
        if stated is None or stated.native != actual:
            report.problems.append(_("The document was altered after it was signed."))
            intact = False
        else:
            to_verify = b"\x31" + signed_attributes.dump()[1:]
            intact = _verify_raw(certificate.public_key(), signature, to_verify, algorithm, digest)
        if "signing_time" in attributes:
            report.signing_time = attributes["signing_time"].native
    else:
        intact = _verify_raw(certificate.public_key(), signature, data, algorithm, digest)
    if not intact and not report.problems:
        report.problems.append(_("The signature does not match the document."))
    report.intact = intact
    return _conclude(report, certificate, pool)


# --- PAdES -----------------------------------------------------------------------------


def _register_pyhanko_names() -> None:
    """Import pyHanko's signing modules, which add attribute and extension names to
    asn1crypto's maps, then rebuild the reverse maps that asn1crypto built at their first
    use (before pyHanko was imported, a name it added would stay unknown)."""
    import pyhanko.sign.ades.cades_asn1
    import pyhanko.sign.signers  # noqa: F401
    from asn1crypto import x509 as asn1_x509

    for mapped in (cms.CMSAttributeType, asn1_x509.ExtensionId):
        if mapped._reverse_map is not None and len(mapped._reverse_map) != len(mapped._map):
            mapped._reverse_map = {name: oid for oid, name in mapped._map.items()}


def off_event_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, in a worker thread when this thread runs an asyncio
    event loop. pyHanko's synchronous API calls ``asyncio.run()``, which refuses to start
    inside a running loop (an ASGI server, a test browser driven from the same thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def verify_pdf(data: bytes) -> list[SignatureReport]:
    """Every signature of a PDF (none: an empty list)."""
    _register_pyhanko_names()
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_signatures)
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        report = SignatureReport(PADES)
        report.problems.append(_("The PDF file cannot be read."))
        report.problems.append(str(error))
        return [report]
    reports = []
    for embedded in signatures:
        report = SignatureReport(PADES)
        try:
            # Trust is decided below, for the three formats alike; pyHanko checks the
            # bytes, the CMS and what changed after signing, offline.
            context = ValidationContext(
                trust_roots=[_asn1(c) for c in trust_anchors()], allow_fetching=False
            )
            status = off_event_loop(
                validate_pdf_signature, embedded, signer_validation_context=context
            )
        except (SignatureValidationError, PdfReadError, ValueError, KeyError) as error:
            report.problems.append(_("The signature cannot be checked."))
            report.problems.append(str(error))
            reports.append(report)
            continue
        report.intact = bool(status.intact and status.valid)
        if not report.intact:
            report.problems.append(_("The document was altered after it was signed."))
        elif status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            report.problems.append(
                _("The file was updated after this signature (a later signature or addition).")
            )
        report.signing_time = status.signer_reported_dt
        pool = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in embedded.signed_data["certificates"] or []
            if c.name == "certificate"
        ]
        certificate = x509.load_der_x509_certificate(status.signing_cert.dump())
        reports.append(_conclude(report, certificate, pool))
    return reports


# --- XAdES / XMLDSig -------------------------------------------------------------------

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES_NAMESPACES = (
    "http://uri.etsi.org/01903/v1.3.2#",
    "http://uri.etsi.org/01903/v1.1.1#",
)


def verify_xml(data: bytes, *, detached: bytes | None = None) -> list[SignatureReport]:
    """The signature of an XML document: enveloped (``data`` is the signed document) or
    detached (``data`` is the signature, ``detached`` the signed file its reference
    names)."""
    from lxml import etree
    from signxml.exceptions import InvalidInput, InvalidSignature
    from signxml.verifier import SignatureConfiguration, XMLVerifier
    from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

    report = SignatureReport(XADES)
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as error:
        report.problems.append(_("The XML file cannot be read."))
        report.problems.append(str(error))
        return [report]
    signatures = root.findall(f".//{{{DS}}}Signature")
    if root.tag == f"{{{DS}}}Signature":
        signatures = [root]
    if not signatures:
        return []
    signature = signatures[0]
    if len(signatures) > 1:
        report.problems.append(_("Only the first of several signatures was checked."))
    pool = [
        x509.load_der_x509_certificate(_base64(element.text or ""))
        for element in signature.iter(f"{{{DS}}}X509Certificate")
    ]
    if not pool:
        report.problems.append(_("The signature does not carry its signer's certificate."))
        return [report]
    references = len(signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference"))
    signing_times = [
        element.text
        for namespace in XADES_NAMESPACES
        for element in signature.iter(f"{{{namespace}}}SigningTime")
    ]
    is_xades = any(
        True for _element in signature.iter(f"{{{XADES_NAMESPACES[0]}}}SignedProperties")
    )
    if signing_times and signing_times[0]:
        report.signing_time = xml_time(signing_times[0])

    signed_root = None
    if detached is not None:
        try:
            signed_root = etree.fromstring(detached, parser=parser)
        except etree.XMLSyntaxError:
            report.problems.append(_("The signed file of a detached XML signature must be XML."))

    def resolve(uri: str) -> Any:
        # The one external reference of a detached signature: the file given beside it
        # (the signature's own properties are "#…" references inside it).
        return signed_root

    problem = None
    certificate = None
    for candidate in pool:
        pem = candidate.public_bytes(serialization.Encoding.PEM).decode()
        try:
            if is_xades:
                XAdESVerifier().verify(
                    data,
                    x509_cert=pem,
                    uri_resolver=resolve,
                    expect_config=XAdESSignatureConfiguration(expect_references=references),
                )
            else:
                XMLVerifier().verify(
                    data,
                    x509_cert=pem,
                    uri_resolver=resolve,
                    expect_config=SignatureConfiguration(expect_references=references),
                )
        except (InvalidSignature, InvalidInput, ValueError) as error:
            problem = str(error)
            continue
        certificate = candidate
        break
    if certificate is None:
        report.problems.append(_("The document was altered after it was signed."))
        if problem:
            report.problems.append(problem)
        # The certificate that claims to have signed, for the report.
        return [_conclude(report, pool[0], pool)]
    report.intact = True
    return [_conclude(report, certificate, pool)]


def _asn1(certificate: x509.Certificate) -> Any:
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _base64(text: str) -> bytes:
    import base64

    return base64.b64decode("".join(text.split()))


def xml_time(text: str) -> datetime.datetime | None:
    """An XML dateTime as an aware datetime (UTC when it gives no offset); None when unreadable."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


# --- One entry point -------------------------------------------------------------------


def verify_signature(
    data: bytes, signature: bytes | None = None, *, name: str = ""
) -> list[SignatureReport]:
    """The signatures of a document, by its format: a PDF's own; an XML document's own
    (or, with ``signature`` an XML signature, the detached XAdES over ``data``); with a
    ``.p7s`` ``signature``, the detached CAdES over ``data``."""
    if signature is not None:
        head = signature.lstrip()[:64]
        if head.startswith(b"<") or name.lower().endswith(".xml"):
            return verify_xml(signature, detached=data)
        return verify_cades(signature, data)
    if data.startswith(b"%PDF-"):
        return verify_pdf(data)
    if data.lstrip().startswith(b"<"):
        return verify_xml(data)
    return []
