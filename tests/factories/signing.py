"""Signers for tests: certificate authorities built on the fly (a root, an intermediate
the signatures carry, a stranger's root, an expired signer) and documents signed with
the tools signers use: pyHanko for PDF, signxml for XML (XAdES), cryptography's PKCS#7
builder for detached CAdES. ``pki`` is a module-scoped fixture."""

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

NOW = datetime.datetime.now(tz=datetime.UTC)


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


def sign_cades(signer: Signer, data: bytes) -> bytes:
    """A detached CAdES (.p7s) over the exact bytes (``Binary``: without it, cryptography
    signs the text with its line ends made CRLF, as S/MIME does)."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data)
    builder = builder.add_signer(signer.certificate, signer.key, hashes.SHA256())
    for certificate in signer.chain:
        builder = builder.add_certificate(certificate)
    return builder.sign(
        serialization.Encoding.DER,
        [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
    )


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
