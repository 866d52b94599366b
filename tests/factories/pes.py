"""PES test data: a member with its accounting agent, a test PKI for the signer (its CA
set as the platform's trust anchor), and the treasury gateway's stand-in on a loopback
port with the platform's settings pointed at it."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID

from mutualis.legality.pes import samples, services, xades
from mutualis.legality.pes.standin import GatewayStandin
from tests.factories.legality import legality_agent, subscribe

SIREN = "212100108"
SIRET = "21210010800019"
OTHER_SIRET = "21750005600014"


def _certificate(subject: str, issuer: x509.Name, key, signing_key, *, ca: bool, days: int = 30):
    now = datetime.now(tz=UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(signing_key, hashes.SHA256())


def make_signer(common_name: str = "Marie Martin, maire") -> tuple[xades.Signer, x509.Certificate]:
    """A signer whose certificate a fresh test CA issued; the CA beside it."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test qualified CA")])
    ca = _certificate("Test qualified CA", ca_name, ca_key, ca_key, ca=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = _certificate(common_name, ca_name, key, ca_key, ca=False)
    return xades.Signer(key, certificate, city="Dijon", postal_code="21000"), ca


@pytest.fixture(scope="session")
def pes_pki():
    return make_signer()


@pytest.fixture
def pes_signer(pes_pki, tmp_path, settings):
    signer, ca = pes_pki
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(anchors)
    return signer


@pytest.fixture
def pes_member(org_a):
    org_a.siren = SIREN
    org_a.siret = SIRET
    org_a.save(update_fields=["siren", "siret"])
    subscribe(org_a)
    return org_a


@pytest.fixture
def accountant(pes_member):
    return legality_agent(pes_member, "compta.a@example.org", roles=("legality_accountant",))


def signed_flow(
    signer: xades.Signer, *, serial: int = 1, bordereaux=(101,), siret: str = SIRET, version="1.1.1"
) -> bytes:
    return xades.sign_bordereaux(
        samples.pes_aller(siret, serial=serial, bordereaux=bordereaux), signer, version=version
    )


def upload(data: bytes, name: str = "pes_aller.xml") -> services.Upload:
    return services.Upload(io.BytesIO(data), name)


@pytest.fixture
def pes_gateway(tmp_path, settings):
    """The stand-in, listening; the platform's settings pointed at it."""
    standin = GatewayStandin(tmp_path / "gateway", tmp_path / "gateway-keys", delay=0.0, tick=3600)
    standin.start()
    settings.MUTUALIS_PES_TRANSPORT = "sftp"
    settings.MUTUALIS_PES_SFTP_HOST = standin.host
    settings.MUTUALIS_PES_SFTP_PORT = standin.port
    settings.MUTUALIS_PES_SFTP_USER = standin.user
    # The key inline (a secret read from a _FILE), the host key pinned.
    settings.MUTUALIS_PES_SFTP_KEY = standin.keys.client_key.read_text()
    settings.MUTUALIS_PES_SFTP_HOST_KEY = standin.host_public_key
    settings.MUTUALIS_PES_TIMEOUT_SECONDS = 10
    settings.MUTUALIS_PES_MAX_ATTEMPTS = 2
    settings.MUTUALIS_PES_RETRY_SECONDS = 60
    yield standin
    standin.stop()


def make_key_pem() -> str:
    """A new Ed25519 private key in OpenSSH PEM (the SFTP key of the gateway's client)."""
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
