"""Signatures found in documents (PAdES, XAdES enveloped and detached, detached CAdES):
each is reported with its signer, issuer, signing time, the certificate's validity at that
time, the document's integrity and whether it chains to the configured trust anchors.

The tests build their own certificate authorities (a root, an intermediate the signature
carries, and a stranger's root) and sign with the tools signers use: pyHanko for PDF,
signxml for XML, cryptography's PKCS#7 builder for CAdES."""

from __future__ import annotations

import dataclasses
import datetime
import io
from pathlib import Path

import pypdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from lxml import etree
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from signxml import SignatureConstructionMethod
from signxml.xades import XAdESSigner

from mutualis.evidence import signatures
from mutualis.evidence.signatures import verify_cades, verify_pdf, verify_signature, verify_xml

NOW = datetime.datetime.now(tz=datetime.UTC)
DOCUMENT = b"<Acte><Numero>2026-042</Numero><Objet>Marche de voirie</Objet></Acte>"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    common_name: str,
    key,
    issuer: tuple[x509.Name, object] | None,
    *,
    ca: bool,
    not_before: datetime.datetime = NOW - datetime.timedelta(days=30),
    not_after: datetime.datetime = NOW + datetime.timedelta(days=365),
) -> x509.Certificate:
    issuer_name, issuer_key = issuer or (_name(common_name), key)
    usage = dict.fromkeys(
        (
            "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
            "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
        ),
        False,
    )  # fmt: skip
    usage.update(
        {"key_cert_sign": True, "crl_sign": True}
        if ca
        else {"digital_signature": True, "content_commitment": True}
    )
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@dataclasses.dataclass
class Signer:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: list[x509.Certificate]

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclasses.dataclass
class Authorities:
    root: x509.Certificate
    signer: Signer  # root → intermediate → signer; the intermediate travels in signatures
    stranger: Signer  # under a root nobody configured
    expired: Signer  # under the trusted root, expired before it signs


@pytest.fixture(scope="module")
def pki() -> Authorities:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _certificate("Autorite racine de test", root_key, None, ca=True)
    middle_key = ec.generate_private_key(ec.SECP256R1())
    middle = _certificate(
        "Autorite intermediaire de test", middle_key, (root.subject, root_key), ca=True
    )
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = _certificate("Jeanne Signataire", signer_key, (middle.subject, middle_key), ca=False)
    stranger_root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger_root = _certificate("Autorite inconnue", stranger_root_key, None, ca=True)
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger = _certificate(
        "Paul Inconnu", stranger_key, (stranger_root.subject, stranger_root_key), ca=False
    )
    expired_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    expired = _certificate(
        "Ancien Signataire",
        expired_key,
        (root.subject, root_key),
        ca=False,
        not_before=NOW - datetime.timedelta(days=400),
        not_after=NOW - datetime.timedelta(days=10),
    )
    return Authorities(
        root=root,
        signer=Signer(signer_key, signer, [middle]),
        stranger=Signer(stranger_key, stranger, [stranger_root]),
        expired=Signer(expired_key, expired, []),
    )


@pytest.fixture(autouse=True)
def _anchors(settings, tmp_path, pki) -> None:
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pem(pki.root))
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(anchors)


# --- Signing, as the signers' tools do -------------------------------------------------


def sign_cades(signer: Signer, data: bytes) -> bytes:
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data)
    builder = builder.add_signer(signer.certificate, signer.key, hashes.SHA256())
    for certificate in signer.chain:
        builder = builder.add_certificate(certificate)
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature])


def blank_pdf() -> bytes:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def sign_pdf(signer: Signer, tmp_path: Path, pdf: bytes | None = None) -> bytes:
    (tmp_path / "key.pem").write_bytes(signer.key_pem)
    (tmp_path / "cert.pem").write_bytes(pem(signer.certificate))
    chain_files = []
    for index, certificate in enumerate(signer.chain):
        path = tmp_path / f"chain-{index}.pem"
        path.write_bytes(pem(certificate))
        chain_files.append(str(path))
    simple = signers.SimpleSigner.load(
        str(tmp_path / "key.pem"), str(tmp_path / "cert.pem"), ca_chain_files=chain_files
    )
    out = signatures.off_event_loop(
        signers.sign_pdf,
        IncrementalPdfFileWriter(io.BytesIO(pdf or blank_pdf())),
        signers.PdfSignatureMetadata(field_name="Signature1"),
        signer=simple,
    )
    return out.getvalue()


def sign_xades(signer: Signer, document: bytes, *, detached_uri: str | None = None) -> bytes:
    certificates = [pem(c).decode() for c in (signer.certificate, *signer.chain)]
    if detached_uri is None:
        signed = XAdESSigner().sign(
            etree.fromstring(document), key=signer.key_pem, cert=certificates
        )
    else:
        signed = XAdESSigner(method=SignatureConstructionMethod.detached).sign(
            etree.fromstring(document),
            key=signer.key_pem,
            cert=certificates,
            reference_uri=detached_uri,
        )
    return etree.tostring(signed)


def only(reports):
    assert len(reports) == 1
    return reports[0]


# --- CAdES -----------------------------------------------------------------------------


def test_a_detached_cades_signature_is_reported_valid(pki):
    data = b"%PDF-1.7 an act, as transmitted"

    report = only(verify_cades(sign_cades(pki.signer, data), data))

    assert report.kind == signatures.CADES
    assert report.intact
    assert report.signer == "Jeanne Signataire"
    assert report.issuer == "Autorite intermediaire de test"
    assert report.signing_time is not None
    assert abs(report.signing_time - datetime.datetime.now(tz=datetime.UTC)) < datetime.timedelta(
        minutes=5
    )
    assert report.certificate_valid_at_signing
    assert report.trusted
    assert report.valid
    assert report.problems == []


def test_a_cades_signature_over_another_document_is_not_intact(pki):
    signature = sign_cades(pki.signer, b"the act as signed")

    report = only(verify_cades(signature, b"the act, altered"))

    assert not report.intact
    assert not report.valid
    assert "The document was altered after it was signed." in report.problems


def test_a_pem_encoded_p7s_is_read_too(pki):
    data = b"annexe"
    der = sign_cades(pki.signer, data)
    import base64

    body = base64.encodebytes(der)
    text = b"-----BEGIN PKCS7-----\n" + body + b"-----END PKCS7-----\n"

    assert only(verify_cades(text, data)).intact


def test_a_signer_under_an_unconfigured_root_is_intact_but_not_trusted(pki):
    data = b"offre"

    report = only(verify_cades(sign_cades(pki.stranger, data), data))

    assert report.intact
    assert not report.trusted
    assert "The certificate does not chain to a trusted authority." in report.problems


def test_without_the_intermediate_the_chain_cannot_be_built(pki):
    data = b"offre"
    bare = Signer(pki.signer.key, pki.signer.certificate, [])

    report = only(verify_cades(sign_cades(bare, data), data))

    assert report.intact
    assert not report.trusted


def test_a_certificate_expired_when_it_signed_is_reported(pki):
    data = b"offre"

    report = only(verify_cades(sign_cades(pki.expired, data), data))

    assert report.intact
    assert report.trusted
    assert not report.certificate_valid_at_signing
    assert not report.valid


def test_no_anchor_configured_means_nothing_is_trusted(pki, settings):
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = ""
    data = b"offre"

    report = only(verify_cades(sign_cades(pki.signer, data), data))

    assert report.intact
    assert not report.trusted


def test_anchors_may_be_a_directory(pki, settings, tmp_path):
    directory = tmp_path / "anchors"
    directory.mkdir()
    (directory / "racine.crt").write_bytes(pem(pki.root))
    (directory / "readme.txt").write_text("not a certificate")
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(directory)
    data = b"offre"

    assert only(verify_cades(sign_cades(pki.signer, data), data)).trusted


@pytest.mark.parametrize(
    "garbage", [b"", b"not a signature", b"\x30\x03\x02\x01\x01", b"-----BEGIN PKCS7-----\nxx"]
)
def test_a_file_that_is_no_cms_signature_is_reported_not_raised(garbage):
    report = only(verify_cades(garbage, b"data"))

    assert not report.intact
    assert report.problems[0] == "The file is not a detached CMS signature (.p7s)."


# --- PAdES -----------------------------------------------------------------------------


def test_a_signed_pdf_is_reported_valid(pki, tmp_path):
    report = only(verify_pdf(sign_pdf(pki.signer, tmp_path)))

    assert report.kind == signatures.PADES
    assert report.intact
    assert report.signer == "Jeanne Signataire"
    assert report.issuer == "Autorite intermediaire de test"
    assert report.signing_time is not None
    assert report.certificate_valid_at_signing
    assert report.trusted
    assert report.problems == []


def test_a_pdf_altered_after_signing_is_not_intact(pki, tmp_path):
    signed = bytearray(sign_pdf(pki.signer, tmp_path))
    position = bytes(signed).index(b"595 842")
    signed[position] = ord("4")  # 595 → 495: inside the signed byte range

    report = only(verify_pdf(bytes(signed)))

    assert not report.intact
    assert "The document was altered after it was signed." in report.problems


def test_a_pdf_signed_by_a_stranger_is_not_trusted(pki, tmp_path):
    report = only(verify_pdf(sign_pdf(pki.stranger, tmp_path)))

    assert report.intact
    assert not report.trusted


def test_an_unsigned_pdf_has_no_signature_and_garbage_is_reported(pki):
    assert verify_pdf(blank_pdf()) == []
    broken = only(verify_pdf(b"%PDF-1.7\nnothing else"))
    assert not broken.intact
    assert broken.problems[0] == "The PDF file cannot be read."


# --- XAdES -----------------------------------------------------------------------------


def test_an_enveloped_xades_signature_is_reported_valid(pki):
    report = only(verify_xml(sign_xades(pki.signer, DOCUMENT)))

    assert report.kind == signatures.XADES
    assert report.intact
    assert report.signer == "Jeanne Signataire"
    assert report.signing_time is not None
    assert abs(report.signing_time - datetime.datetime.now(tz=datetime.UTC)) < datetime.timedelta(
        minutes=5
    )
    assert report.certificate_valid_at_signing
    assert report.trusted
    assert report.problems == []


def test_an_altered_enveloped_document_is_not_intact(pki):
    signed = sign_xades(pki.signer, DOCUMENT).replace(b"2026-042", b"2026-043")

    report = only(verify_xml(signed))

    assert not report.intact
    assert report.signer == "Jeanne Signataire"


def test_a_detached_xades_signature_over_the_file_beside_it(pki):
    signature = sign_xades(pki.signer, DOCUMENT, detached_uri="acte.xml")

    good = only(verify_xml(signature, detached=DOCUMENT))
    altered = only(verify_xml(signature, detached=DOCUMENT.replace(b"voirie", b"voiture")))

    assert good.intact
    assert good.trusted
    assert not altered.intact


def test_an_xml_signed_by_a_stranger_is_not_trusted(pki):
    report = only(verify_xml(sign_xades(pki.stranger, DOCUMENT)))

    assert report.intact
    assert not report.trusted


def test_unsigned_and_malformed_xml(pki):
    assert verify_xml(DOCUMENT) == []
    report = only(verify_xml(b"<Acte><unclosed></Acte>"))
    assert report.problems[0] == "The XML file cannot be read."


def test_an_xml_entity_is_never_expanded(pki, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    hostile = f'<!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]><Acte>&x;</Acte>'.encode()

    assert verify_xml(hostile) == []


# --- One entry point -------------------------------------------------------------------


def test_verify_signature_picks_the_format(pki, tmp_path):
    data = b"any file"

    assert only(verify_signature(data, sign_cades(pki.signer, data))).kind == signatures.CADES
    assert only(verify_signature(sign_pdf(pki.signer, tmp_path))).kind == signatures.PADES
    assert only(verify_signature(sign_xades(pki.signer, DOCUMENT))).kind == signatures.XADES
    detached = sign_xades(pki.signer, DOCUMENT, detached_uri="acte.xml")
    assert only(verify_signature(DOCUMENT, detached)).intact
    assert verify_signature(b"plain text") == []


def test_pyhankos_synchronous_calls_work_inside_a_running_event_loop():
    import asyncio
    import concurrent.futures

    def synchronous() -> int:  # as pyHanko's synchronous API does
        return asyncio.run(asyncio.sleep(0, result=7))

    async def inside_a_loop() -> int:
        return signatures.off_event_loop(synchronous)

    # In a thread of its own: the test's own thread may run a loop (a browser test's).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result() == 7
    assert signatures.off_event_loop(synchronous) == 7
