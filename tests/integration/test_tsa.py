"""The platform's RFC 3161 time-stamping authority: ``POST /tsa`` answers what
``openssl ts`` asks and accepts what it answers; bad requests get a rejection that says
why, never a 500; ``stamp()`` and ``verify()`` serve the platform itself; ``mutualis
setup`` creates the key and certificate once."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from asn1crypto import algos, cms, tsp, x509
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.urls import reverse

from mutualis.evidence import authority, timestamps
from mutualis.evidence.errors import AuthorityNotConfigured, InvalidTimestamp, TimestampMismatch
from mutualis.evidence.models import IssuedTimestamp

pytestmark = pytest.mark.django_db

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is missing")

QUERY = "application/timestamp-query"


@pytest.fixture
def tsa(settings) -> authority.Authority:
    authority.ensure_authority()
    return authority.load()


def query(digest: bytes, *, nonce: int | None = 42, cert_req: bool = True, **extra) -> bytes:
    request = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": extra.pop("algorithm", "sha256")},
            "hashed_message": digest,
        },
        "cert_req": cert_req,
        **extra,
    }
    if nonce is not None:
        request["nonce"] = nonce
    return tsp.TimeStampReq(request).dump()


def post(client, body: bytes, content_type: str = QUERY):
    return client.post("/tsa", data=body, content_type=content_type)


def status_of(response_bytes: bytes) -> tuple[str, set[str]]:
    parsed = timestamps.TimeStampResp.load(response_bytes)
    fail_info = parsed["status"]["fail_info"].native
    return parsed["status"]["status"].native, set(fail_info or ())


def run(*command: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 — fixed arguments, the openssl found on PATH.
        [OPENSSL, *command], cwd=cwd, input=stdin, capture_output=True, check=False
    )


@needs_openssl
def test_openssl_query_through_the_endpoint_verifies_with_openssl(client, tsa, tmp_path, settings):
    """Given a file, openssl's query with a nonce and certReq, posted to /tsa: openssl
    verifies the reply against the data and the published certificate."""
    (tmp_path / "f").write_bytes(b"Pli de la societe Exemple, lot 2\n")
    made = run("ts", "-query", "-data", "f", "-sha256", "-cert", "-out", "q.tsq", cwd=tmp_path)
    assert made.returncode == 0, made.stderr

    response = post(client, (tmp_path / "q.tsq").read_bytes())

    assert response.status_code == 200
    assert response["Content-Type"] == "application/timestamp-reply"
    (tmp_path / "r.tsr").write_bytes(response.content)
    certificate = Path(settings.MUTUALIS_TSA_CERTIFICATE_PATH)
    checked = run(
        "ts", "-verify", "-data", "f", "-in", "r.tsr", "-CAfile", str(certificate),
        "-untrusted", str(certificate), cwd=tmp_path,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert b"Verification: OK" in checked.stdout
    # The nonce and the query's other fields are honoured too.
    with_query = run(
        "ts", "-verify", "-queryfile", "q.tsq", "-in", "r.tsr", "-CAfile", str(certificate),
        cwd=tmp_path,
    )  # fmt: skip
    assert with_query.returncode == 0, with_query.stderr
    text = run("ts", "-reply", "-in", "r.tsr", "-text", cwd=tmp_path).stdout.decode()
    assert f"Policy OID: {settings.MUTUALIS_TSA_POLICY}" in text
    assert "Accuracy: 0x01 seconds" in text


@needs_openssl
def test_another_file_does_not_verify(client, tsa, tmp_path, settings):
    (tmp_path / "f").write_bytes(b"original")
    (tmp_path / "g").write_bytes(b"altered")
    run("ts", "-query", "-data", "f", "-sha256", "-cert", "-out", "q.tsq", cwd=tmp_path)
    (tmp_path / "r.tsr").write_bytes(post(client, (tmp_path / "q.tsq").read_bytes()).content)

    checked = run(
        "ts", "-verify", "-data", "g", "-in", "r.tsr",
        "-CAfile", str(settings.MUTUALIS_TSA_CERTIFICATE_PATH), cwd=tmp_path,
    )  # fmt: skip

    assert checked.returncode != 0


def test_the_reply_echoes_the_nonce_and_carries_the_certificate_only_when_asked(client, tsa):
    digest = hashlib.sha256(b"x").digest()

    with_certificate = timestamps.TimeStampResp.load(post(client, query(digest, nonce=7)).content)
    without = timestamps.TimeStampResp.load(
        post(client, query(digest, nonce=None, cert_req=False)).content
    )

    token = with_certificate["time_stamp_token"]["content"]
    info = tsp.TSTInfo.load(token["encap_content_info"]["content"].contents)
    assert info["nonce"].native == 7
    assert token["certificates"][0].chosen.dump() == tsa.certificate.dump()
    bare = without["time_stamp_token"]["content"]
    assert not bare["certificates"]
    assert tsp.TSTInfo.load(bare["encap_content_info"]["content"].contents)["nonce"].native is None


def test_the_token_names_its_signing_certificate(client, tsa):
    """ESSCertIDv2: the SHA-256 of the certificate that signed, its issuer and serial."""
    parsed = timestamps.TimeStampResp.load(post(client, query(b"\x01" * 32)).content)

    signer_info = parsed["time_stamp_token"]["content"]["signer_infos"][0]
    values = [
        a["values"][0]
        for a in signer_info["signed_attrs"]
        if a["type"].native == "signing_certificate_v2"
    ]
    essid = values[0]["certs"][0]
    assert essid["cert_hash"].native == hashlib.sha256(tsa.certificate.dump()).digest()
    assert essid["issuer_serial"]["serial_number"].native == tsa.certificate.serial_number


def test_serial_numbers_are_unique_and_registered(client, tsa):
    digests = [hashlib.sha256(bytes([i])).digest() for i in range(5)]

    serials = []
    for digest in digests:
        parsed = timestamps.TimeStampResp.load(post(client, query(digest)).content)
        content = parsed["time_stamp_token"]["content"]["encap_content_info"]["content"]
        serials.append(tsp.TSTInfo.load(content.contents)["serial_number"].native)

    assert len(set(serials)) == 5
    registered = IssuedTimestamp.objects.filter(pk__in=serials).order_by("pk")
    assert [row.digest for row in registered] == [d.hex() for d in digests]


def test_the_policy_the_request_names_must_be_the_authoritys(client, tsa, settings):
    digest = hashlib.sha256(b"x").digest()

    same = post(client, query(digest, req_policy=settings.MUTUALIS_TSA_POLICY))
    other = post(client, query(digest, req_policy="1.2.3.4"))

    assert status_of(same.content)[0] == "granted"
    assert status_of(other.content) == ("rejection", {"unaccepted_policy"})


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        (b"not a time-stamp request", "bad_data_format"),
        (b"\x00" * 40, "bad_data_format"),
        (b"\x30\x00", "bad_data_format"),
        (query(hashlib.sha1(b"x").digest(), algorithm="sha1"), "bad_alg"),  # noqa: S324
        (query(hashlib.md5(b"x").digest(), algorithm="md5"), "bad_alg"),  # noqa: S324
        (query(b"\x01" * 20), "bad_data_format"),  # a SHA-256 digest of 20 bytes
        (
            query(
                b"\x01" * 32,
                extensions=[{"extn_id": "1.2.3.4", "critical": True, "extn_value": b"\x05\x00"}],
            ),
            "unaccepted_extensions",
        ),
        (
            tsp.TimeStampReq(
                {
                    "version": "v2",
                    "message_imprint": {
                        "hash_algorithm": {"algorithm": "sha256"},
                        "hashed_message": b"\x01" * 32,
                    },
                }
            ).dump(),
            "bad_request",
        ),
    ],
)
def test_bad_requests_get_a_rejection_that_says_why(client, tsa, body, failure):
    response = post(client, body)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/timestamp-reply"
    assert status_of(response.content) == ("rejection", {failure})
    assert not IssuedTimestamp.objects.exists()


def test_an_oversized_body_is_refused_unread(client, tsa, settings):
    settings.MUTUALIS_TSA_MAX_REQUEST_BYTES = 100

    response = post(client, query(b"\x01" * 32) + b"\x00" * 200)

    assert response.status_code == 413
    assert status_of(response.content) == ("rejection", {"bad_request"})


def test_another_content_type_is_refused(client, tsa):
    response = post(client, query(b"\x01" * 32), content_type="application/octet-stream")

    assert response.status_code == 415
    assert status_of(response.content) == ("rejection", {"bad_request"})


def test_get_is_not_allowed(client, tsa):
    assert client.get("/tsa").status_code == 405


def test_no_csrf_token_is_needed(tsa):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    assert status_of(post(strict, query(b"\x01" * 32)).content)[0] == "granted"


def test_requests_are_limited_per_source_address(client, tsa, settings):
    settings.MUTUALIS_RATE_LIMITS_ENABLED = True
    settings.MUTUALIS_TSA_RATE_PER_ADDRESS = "2/m"
    body = query(b"\x01" * 32)

    answers = [post(client, body) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2]["Retry-After"]) >= 1
    assert status_of(answers[2].content)[0] == "rejection"


def test_an_instance_not_set_up_refuses_with_a_rejection_not_an_error(client):
    response = post(client, query(b"\x01" * 32))

    assert response.status_code == 200
    assert status_of(response.content) == ("rejection", {"system_failure"})


def test_an_instance_not_set_up_has_no_certificate_to_give(client):
    assert client.get(reverse("evidence:tsa_certificate_pem")).status_code == 404


# --- The platform's own use ------------------------------------------------------------


def test_stamp_then_verify(tsa):
    digest = hashlib.sha256(b"acknowledgement").digest()

    token = timestamps.stamp(digest)
    info = timestamps.verify(token, digest)

    assert info.digest == digest
    assert info.hash_algorithm == "sha256"
    assert IssuedTimestamp.objects.filter(pk=info.serial_number).exists()
    assert info.gen_time.tzinfo is not None


def test_verify_refuses_another_digest(tsa):
    token = timestamps.stamp(hashlib.sha256(b"a").digest())

    with pytest.raises(TimestampMismatch):
        timestamps.verify(token, hashlib.sha256(b"b").digest())


def test_verify_refuses_an_altered_token(tsa):
    digest = hashlib.sha256(b"a").digest()
    token = bytearray(timestamps.stamp(digest))
    # Flip one bit of the time inside the TSTInfo: the signed digest no longer matches.
    position = bytes(token).index(b"Z0") - 3
    token[position] ^= 0x01

    with pytest.raises(InvalidTimestamp):
        timestamps.verify(bytes(token), digest)


def test_verify_refuses_a_token_of_another_authority(tsa, settings, tmp_path):
    digest = hashlib.sha256(b"a").digest()
    token = timestamps.stamp(digest)
    other_key = authority.new_key()
    other = authority.new_certificate(other_key, name="Autre")

    with pytest.raises(InvalidTimestamp):
        timestamps.verify(
            token,
            digest,
            certificate=x509.Certificate.load(other.public_bytes(serialization.Encoding.DER)),
        )


def test_verify_refuses_garbage(tsa):
    with pytest.raises(InvalidTimestamp):
        timestamps.verify(b"\x30\x03\x02\x01\x01", b"\x00" * 32)


def test_stamp_refuses_a_digest_of_the_wrong_length(tsa):
    with pytest.raises(ValueError, match="32 bytes"):
        timestamps.stamp(b"\x00" * 20)


def test_stamping_without_a_key_says_how_to_make_one():
    with pytest.raises(AuthorityNotConfigured):
        timestamps.stamp(b"\x00" * 32)


def test_a_key_from_the_environment_with_its_certificate(settings, tmp_path):
    key = authority.new_key()
    certificate = authority.new_certificate(key, name="Exploitant")
    settings.MUTUALIS_TSA_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.MUTUALIS_TSA_CERTIFICATE = certificate.public_bytes(
        serialization.Encoding.PEM
    ).decode()
    digest = hashlib.sha256(b"a").digest()

    assert authority.ensure_authority() == []
    info = timestamps.verify(timestamps.stamp(digest), digest)

    assert "Exploitant" in info.signer
    assert not Path(settings.MUTUALIS_TSA_KEY_PATH).exists()


def test_a_certificate_of_another_key_is_refused(settings):
    authority.ensure_authority()
    other = authority.new_certificate(authority.new_key(), name="Autre")
    settings.MUTUALIS_TSA_CERTIFICATE = other.public_bytes(serialization.Encoding.PEM).decode()

    with pytest.raises(AuthorityNotConfigured):
        authority.load()


# --- mutualis setup --------------------------------------------------------------------


def test_setup_creates_the_key_and_certificate_once(settings):
    """The release step creates both, with a critical timeStamping extended key usage;
    a second run changes nothing."""
    out = StringIO()
    call_command("setup", stdout=out)
    key_path = Path(settings.MUTUALIS_TSA_KEY_PATH)
    certificate_path = Path(settings.MUTUALIS_TSA_CERTIFICATE_PATH)
    first = (key_path.read_bytes(), certificate_path.read_bytes())

    again = StringIO()
    call_command("setup", stdout=again)

    assert (key_path.read_bytes(), certificate_path.read_bytes()) == first
    assert f"Time-stamping authority: created {key_path}." in out.getvalue()
    assert f"Time-stamping authority: created {certificate_path}." in out.getvalue()
    assert "Time-stamping authority: its key and certificate exist." in again.getvalue()
    assert key_path.stat().st_mode & 0o077 == 0
    certificate = x509.Certificate.load(authority.load().certificate.dump())
    usage = certificate.extended_key_usage_value
    assert usage.native == ["time_stamping"]
    critical = {
        e["extn_id"].native: e["critical"].native
        for e in certificate["tbs_certificate"]["extensions"]
    }
    assert critical["extended_key_usage"] is True


def test_the_tokens_signature_algorithm_matches_the_key(tsa):
    token = cms.ContentInfo.load(timestamps.stamp(b"\x00" * 32))

    signer_info = token["content"]["signer_infos"][0]

    assert signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    assert isinstance(signer_info["digest_algorithm"], algos.DigestAlgorithm)


# --- The public page -------------------------------------------------------------------


def test_the_public_page_gives_the_certificate_and_the_checks(client, tsa):
    response = client.get(reverse("evidence:timestamping"))

    assert response.status_code == 200
    page = response.content.decode()
    assert tsa.certificate_pem.strip().splitlines()[1] in page
    assert "openssl ts -verify" in page
    assert "verify_inclusion.py" in page
    assert "http://testserver/tsa" in page
    assert reverse("evidence:timestamping") in client.get(reverse("core:legal")).content.decode()


def test_the_certificate_downloads_as_pem_and_der(client, tsa):
    pem = client.get(reverse("evidence:tsa_certificate_pem"))
    der = client.get(reverse("evidence:tsa_certificate_der"))

    assert pem.status_code == der.status_code == 200
    assert pem.content.decode() == tsa.certificate_pem
    assert der.content == tsa.certificate.dump()
    assert der["Content-Type"] == "application/pkix-cert"


def test_the_page_says_so_before_setup(client):
    response = client.get(reverse("evidence:timestamping"))

    assert response.status_code == 200
    assert "not set up" in response.content.decode()


@needs_openssl
def test_a_token_kept_alone_verifies_with_openssl_as_the_page_says(tsa, tmp_path, settings):
    """The acknowledgement's token over a receipt (-data), and a Merkle root's token
    (-digest, the root being a SHA-256 value), checked with -token_in."""
    from mutualis.evidence import merkle

    receipt = b'{"deposit": "D-1", "received": "2026-12-06T10:00:00Z"}'
    (tmp_path / "receipt.json").write_bytes(receipt)
    (tmp_path / "receipt.tst").write_bytes(timestamps.stamp(hashlib.sha256(receipt).digest()))
    root = merkle.root([hashlib.sha256(receipt).digest()])
    (tmp_path / "root.tst").write_bytes(timestamps.stamp(root))
    certificate = str(settings.MUTUALIS_TSA_CERTIFICATE_PATH)

    by_data = run(
        "ts", "-verify", "-data", "receipt.json", "-in", "receipt.tst", "-token_in",
        "-CAfile", certificate, cwd=tmp_path,
    )  # fmt: skip
    by_digest = run(
        "ts", "-verify", "-digest", root.hex(), "-in", "root.tst", "-token_in",
        "-CAfile", certificate, cwd=tmp_path,
    )  # fmt: skip

    assert by_data.returncode == 0, by_data.stderr
    assert by_digest.returncode == 0, by_digest.stderr
