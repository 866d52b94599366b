"""The platform's time-stamping authority: its key and certificate.

Both come from the environment (``MUTUALIS_TSA_KEY``, ``MUTUALIS_TSA_CERTIFICATE``, PEM, or
their ``_FILE`` variants) or else from the files ``mutualis setup`` writes once
(``MUTUALIS_TSA_KEY_PATH``, ``MUTUALIS_TSA_CERTIFICATE_PATH``). The certificate text may
hold a chain: the authority's certificate first, then the intermediate certificates of the
authority that issued it (a qualified provider's), all sent in tokens that ask for them.

The certificate ``mutualis setup`` makes is self-signed: it proves what the platform
stamped to whoever trusts that certificate (published on the time-stamping page), not to
a third party's checker; an operator that needs the latter installs a certificate issued
by a qualified provider for the same key, or a new key and its certificate
(docs/operations.md).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
from pathlib import Path

from asn1crypto import algos, cms, tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings

from mutualis.core.secret_files import write_new

from .errors import AuthorityNotConfigured

# A certificate the platform makes for itself: valid long enough to outlive the
# retention of the documents its tokens date (five years for public contracts), renewed
# by the operator before that.
CERTIFICATE_DAYS = 10 * 366

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclasses.dataclass(frozen=True)
class Authority:
    """The loaded key and certificates, with what every token repeats, encoded once."""

    key: SigningKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    # The signingCertificateV2 attribute value (ESSCertIDv2 of the certificate): encoding
    # it cost more than the rest of a token, so it is made once per certificate.
    signing_certificate: tsp.SetOfSigningCertificatesV2
    digest_algorithm: str
    signature_algorithm: str
    # The parts of every token that depend only on the certificate, DER-encoded once:
    # asn1crypto re-encodes a certificate or a name each time it is placed in a new
    # structure, which cost 30 ms a token (measured), ten times the signature.
    encoded: dict[str, bytes] = dataclasses.field(default_factory=dict)

    def sign(self, data: bytes) -> bytes:
        hash_ = HASHES[self.digest_algorithm]
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(data, padding.PKCS1v15(), hash_)
        return self.key.sign(data, ec.ECDSA(hash_))

    @property
    def certificate_pem(self) -> str:
        return _pem(self.certificate.dump())


HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


def _pem(der: bytes) -> str:
    return cx509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def key_pem() -> str:
    pem = str(settings.MUTUALIS_TSA_KEY)
    if pem:
        return pem
    path = Path(settings.MUTUALIS_TSA_KEY_PATH)
    if not path.exists():
        raise AuthorityNotConfigured
    return path.read_text()


def certificate_pem() -> str:
    """The certificate (and chain) text, PEM."""
    pem = str(settings.MUTUALIS_TSA_CERTIFICATE)
    if pem:
        return pem
    path = Path(settings.MUTUALIS_TSA_CERTIFICATE_PATH)
    if not path.exists():
        raise AuthorityNotConfigured
    return path.read_text()


def load() -> Authority:
    """The authority as configured now (parsed once per key and certificate text)."""
    return _parse(key_pem(), certificate_pem())


@functools.lru_cache(maxsize=4)
def _parse(key_text: str, certificate_text: str) -> Authority:
    key = serialization.load_pem_private_key(key_text.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise AuthorityNotConfigured(
            "The time-stamping key must be an EC or RSA private key."  # operator-facing
        )
    loaded = cx509.load_pem_x509_certificates(certificate_text.encode())
    certificates = tuple(
        x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in loaded
    )
    leaf = loaded[0]
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if leaf.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise AuthorityNotConfigured(
            "The time-stamping certificate is not the key's: set both together."
        )
    certificate = certificates[0]
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        digest_algorithm = "sha384" if key.curve.key_size <= 384 else "sha512"
    else:
        digest_algorithm = "sha256"
    if isinstance(key, rsa.RSAPrivateKey):
        signature_algorithm = f"{digest_algorithm}_rsa"
    else:
        signature_algorithm = f"{digest_algorithm}_ecdsa"
    signing_certificate = signing_certificate_attribute(certificate)
    issuer_and_serial = cms.IssuerAndSerialNumber(
        {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
    )
    return Authority(
        key=key,
        certificate=certificate,
        chain=certificates[1:],
        signing_certificate=signing_certificate,
        digest_algorithm=digest_algorithm,
        signature_algorithm=signature_algorithm,
        encoded={
            "issuer_and_serial": issuer_and_serial.dump(),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_algorithm}).dump(),
            "signature_algorithm": algos.SignedDigestAlgorithm(
                {"algorithm": signature_algorithm}
            ).dump(),
            "signing_certificate_values": signing_certificate.dump(),
            "certificates": b"".join(c.dump() for c in certificates),
            "tsa_name": x509.GeneralName({"directory_name": certificate.subject}).dump(),
        },
    )


def signing_certificate_attribute(certificate: x509.Certificate) -> tsp.SetOfSigningCertificatesV2:
    """ESSCertIDv2 (RFC 5035) of ``certificate``: SHA-256 of its DER, its issuer and serial
    number, so that a verifier knows which certificate signed (not another with the same
    key)."""
    essid = tsp.ESSCertIDv2(
        {
            # SHA-256 is the default, left out of the encoding (DER omits defaults).
            "cert_hash": hashlib.sha256(certificate.dump()).digest(),
            "issuer_serial": {
                "issuer": [x509.GeneralName({"directory_name": certificate.issuer})],
                "serial_number": certificate.serial_number,
            },
        }
    )
    value = tsp.SetOfSigningCertificatesV2([tsp.SigningCertificateV2({"certs": [essid]})])
    # Encoded now: every token reuses these bytes.
    value.dump()
    return value


# --- Creation, by ``mutualis setup`` ---------------------------------------------------


def new_key() -> ec.EllipticCurvePrivateKey:
    # P-256: two to three times the tokens per second of RSA-3072 (measured), and
    # accepted by every RFC 3161 client.
    return ec.generate_private_key(ec.SECP256R1())


def new_certificate(key: SigningKey, *, name: str) -> cx509.Certificate:
    """A self-signed certificate for the authority's key: extended key usage
    timeStamping only, critical, as RFC 3161 (2.3) requires of a TSA's certificate."""
    subject = cx509.Name(
        [
            cx509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            cx509.NameAttribute(NameOID.ORGANIZATION_NAME, name[:64]),
            cx509.NameAttribute(NameOID.COMMON_NAME, f"{name} TSA"[:64]),
        ]
    )
    now = datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    public_key = key.public_key()
    return (
        cx509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERTIFICATE_DAYS))
        .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            cx509.KeyUsage(
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
        .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(cx509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def ensure_authority() -> list[str]:
    """Create the key, then its certificate, where each is missing and not given by the
    environment; never replace one. Returns the paths of the files created."""
    done: list[str] = []
    key_path = Path(settings.MUTUALIS_TSA_KEY_PATH)
    certificate_path = Path(settings.MUTUALIS_TSA_CERTIFICATE_PATH)
    if not settings.MUTUALIS_TSA_KEY and not key_path.exists():
        pem = new_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if write_new(key_path, pem, 0o600):
            done.append(str(key_path))
    if not settings.MUTUALIS_TSA_CERTIFICATE and not certificate_path.exists():
        key = serialization.load_pem_private_key(key_pem().encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise AuthorityNotConfigured
        certificate = new_certificate(key, name=str(settings.MUTUALIS_PLATFORM_NAME))
        if write_new(certificate_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644):
            done.append(str(certificate_path))
    return done


def hash_algorithm_name(algorithm: algos.DigestAlgorithm) -> str:
    return str(algorithm["algorithm"].native)


def utc_now() -> datetime.datetime:
    now = datetime.datetime.now(tz=datetime.UTC)
    # Milliseconds: the precision the accuracy can honour; GeneralizedTime drops the
    # trailing zeros as DER requires.
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
