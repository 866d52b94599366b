"""RFC 3161 time-stamp tokens: issued by the platform's authority, and verified.

``respond(request_bytes)`` answers a TimeStampReq from anyone (``POST /tsa``);
``stamp(digest)`` is the platform's own use (a deposit's acknowledgement, a Merkle root);
``verify(token, digest)`` checks a token against the platform's certificate.

A token is a CMS SignedData (RFC 5652) whose content is a TSTInfo: the policy, the
digest, a serial number, the time, its accuracy and the nonce the client chose. The
signed attributes are the content type, the digest of the TSTInfo and the
signingCertificateV2 attribute (RFC 5816) naming the certificate that signed. Built with
asn1crypto and signed with cryptography: the structures are small and fixed, and a
library of our own choosing would still have to be checked against ``openssl ts``.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
from typing import Any

from asn1crypto import algos, cms, core, tsp, x509
from cryptography import exceptions as crypto_exceptions
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import load_der_x509_certificate
from django.conf import settings
from django.utils.translation import gettext as _

from . import authority as authority_module
from .errors import AuthorityNotConfigured, InvalidTimestamp, TimestampMismatch
from .models import IssuedTimestamp

# The digests a request may carry, with their lengths. SHA-1 is refused: a collision
# would let one token date two documents.
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}


class TimeStampResp(core.Sequence):  # type: ignore[misc]
    """RFC 3161's TimeStampResp, whose token is optional (absent from a rejection):
    asn1crypto's declares it mandatory."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class Refused(Exception):
    """A request refused with ``failure`` (a PKIFailureInfo bit name) and a reason."""

    def __init__(self, failure: str, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class TimestampInfo:
    """What a verified token states."""

    serial_number: int
    gen_time: datetime.datetime
    policy: str
    hash_algorithm: str
    digest: bytes
    nonce: int | None
    signer: str


# --- Issuing ---------------------------------------------------------------------------

_SIGNED_DATA_OID = core.ObjectIdentifier("1.2.840.113549.1.7.2").dump()
_TST_INFO_OID = core.ObjectIdentifier("1.2.840.113549.1.9.16.1.4").dump()
_CONTENT_TYPE_OID = core.ObjectIdentifier("1.2.840.113549.1.9.3").dump()
_MESSAGE_DIGEST_OID = core.ObjectIdentifier("1.2.840.113549.1.9.4").dump()
_SIGNING_CERTIFICATE_V2_OID = core.ObjectIdentifier("1.2.840.113549.1.9.16.2.47").dump()


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + content


def _sequence(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _accuracy() -> tsp.Accuracy:
    milliseconds = int(settings.MUTUALIS_TSA_ACCURACY_MS)
    seconds, millis = divmod(milliseconds, 1000)
    value: dict[str, int] = {}
    if seconds:
        value["seconds"] = seconds
    if millis:
        value["millis"] = millis
    return tsp.Accuracy(value)


def _issue(
    *,
    hash_algorithm: str,
    digest: bytes,
    nonce: int | None,
    include_certificates: bool,
) -> bytes:
    """Sign a TSTInfo over ``digest``; returns the token (ContentInfo, DER)."""
    signer = authority_module.load()
    now = authority_module.utc_now()
    serial = IssuedTimestamp.objects.create(
        issued_at=now, hash_algorithm=hash_algorithm, digest=digest.hex()
    ).pk
    # Built as DER from pieces: the parts that depend on the certificate were encoded
    # once (``Authority.encoded``); only the TSTInfo and the digest attribute are new.
    encoded = signer.encoded
    imprint = _sequence(
        algos.DigestAlgorithm({"algorithm": hash_algorithm}).dump(),
        core.OctetString(digest).dump(),
    )
    tst_info = _sequence(
        core.Integer(1).dump(),
        core.ObjectIdentifier(settings.MUTUALIS_TSA_POLICY).dump(),
        imprint,
        core.Integer(serial).dump(),
        core.GeneralizedTime(now).dump(),
        _accuracy().dump(),
        core.Integer(nonce).dump() if nonce is not None else b"",
        _tlv(0xA0, encoded["tsa_name"]),  # tsa [0] EXPLICIT GeneralName
    )
    content_digest = hashlib.new(signer.digest_algorithm, tst_info).digest()
    attributes = sorted(  # DER orders the members of a SET OF by their encoding
        [
            _sequence(_CONTENT_TYPE_OID, _tlv(0x31, _TST_INFO_OID)),
            _sequence(_MESSAGE_DIGEST_OID, _tlv(0x31, core.OctetString(content_digest).dump())),
            _sequence(_SIGNING_CERTIFICATE_V2_OID, encoded["signing_certificate_values"]),
        ]
    )
    signed_attributes = b"".join(attributes)
    # The signature covers the attributes encoded as a SET (tag 0x31); SignerInfo carries
    # them as its [0] IMPLICIT field (RFC 5652, 5.4).
    signature = signer.sign(_tlv(0x31, signed_attributes))
    signer_info = _sequence(
        core.Integer(1).dump(),
        encoded["issuer_and_serial"],
        encoded["digest_algorithm"],
        _tlv(0xA0, signed_attributes),
        encoded["signature_algorithm"],
        core.OctetString(signature).dump(),
    )
    signed_data = _sequence(
        core.Integer(3).dump(),
        _tlv(0x31, encoded["digest_algorithm"]),
        _sequence(_TST_INFO_OID, _tlv(0xA0, core.OctetString(tst_info).dump())),
        _tlv(0xA0, encoded["certificates"]) if include_certificates else b"",
        _tlv(0x31, signer_info),
    )
    return _sequence(_SIGNED_DATA_OID, _tlv(0xA0, signed_data))


def stamp(digest: bytes, *, hash_algorithm: str = "sha256") -> bytes:
    """A token over ``digest`` (the SHA-256 of what is stamped, by default), with the
    authority's certificate inside, so that it verifies on its own.

    Its serial number is a row written in the caller's transaction: a token made in a
    transaction that then rolls back must not be handed out (on SQLite its serial number
    may be given again)."""
    if DIGEST_SIZES.get(hash_algorithm) != len(digest):
        raise ValueError(f"A {hash_algorithm} digest is {DIGEST_SIZES.get(hash_algorithm)} bytes.")
    return _issue(
        hash_algorithm=hash_algorithm, digest=digest, nonce=None, include_certificates=True
    )


def _parse_request(data: bytes) -> tsp.TimeStampReq:
    try:
        request = tsp.TimeStampReq.load(data, strict=True)
        # asn1crypto parses lazily: read every field now, so that a malformed one is
        # refused here rather than half-way through the answer.
        request.native  # noqa: B018
    except (ValueError, TypeError, KeyError) as error:
        raise Refused("bad_data_format", _("The request is not a TimeStampReq.")) from error
    if request["version"].native != "v1":
        raise Refused("bad_request", _("Only version 1 requests are accepted."))
    return request


def _check_request(request: tsp.TimeStampReq) -> tuple[str, bytes]:
    imprint = request["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm not in DIGEST_SIZES:
        raise Refused(
            "bad_alg",
            _("Unaccepted hash algorithm; use SHA-256, SHA-384 or SHA-512."),
        )
    parameters = imprint["hash_algorithm"]["parameters"]
    if parameters.native is not None:
        raise Refused("bad_alg", _("The hash algorithm takes no parameters."))
    digest = imprint["hashed_message"].native
    if len(digest) != DIGEST_SIZES[algorithm]:
        raise Refused("bad_data_format", _("The digest's length does not match its algorithm."))
    policy = request["req_policy"]
    if policy.native is not None and policy.dotted != settings.MUTUALIS_TSA_POLICY:
        raise Refused("unaccepted_policy", _("This authority stamps under one policy only."))
    if request["extensions"].native:
        raise Refused("unaccepted_extensions", _("No request extension is accepted."))
    return str(algorithm), bytes(digest)


def _status_response(failure: str, reason: str) -> bytes:
    return bytes(
        TimeStampResp(
            {
                "status": {
                    "status": "rejection",
                    "status_string": [reason],
                    "fail_info": tsp.PKIFailureInfo({failure}),
                }
            }
        ).dump()
    )


def refusal(failure: str, reason: str) -> bytes:
    """A TimeStampResp that refuses, for an HTTP layer that refuses before parsing."""
    return _status_response(failure, reason)


def respond(data: bytes) -> bytes:
    """The TimeStampResp (DER) to a TimeStampReq (DER): a granted token, or a rejection
    that says why. Never raises on a bad request."""
    try:
        request = _parse_request(data)
        hash_algorithm, digest = _check_request(request)
    except Refused as refused:
        return _status_response(refused.failure, refused.reason)
    nonce = request["nonce"].native
    try:
        token = _issue(
            hash_algorithm=hash_algorithm,
            digest=digest,
            nonce=nonce,
            include_certificates=bool(request["cert_req"].native),
        )
    except AuthorityNotConfigured:
        return _status_response(
            "system_failure", _("The time-stamping authority is not available.")
        )
    # TimeStampResp { status PKIStatusInfo { granted (0) }, timeStampToken }, written
    # around the token's bytes (asn1crypto would encode the token a second time).
    return _sequence(_sequence(core.Integer(0).dump()), token)


# --- Verifying -------------------------------------------------------------------------


def _verify_signature(certificate: x509.Certificate, signer_info: cms.SignerInfo) -> None:
    public_key = load_der_x509_certificate(certificate.dump()).public_key()
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in authority_module.HASHES:
        raise InvalidTimestamp(_("The token's digest algorithm is not accepted."))
    hash_ = authority_module.HASHES[digest_name]
    # The bytes received, re-tagged as the SET that was signed: 0x31 instead of the [0]
    # tag of the field (a re-encoding could differ from what the signer encoded).
    signed = b"\x31" + signer_info["signed_attrs"].dump()[1:]
    signature = signer_info["signature"].native
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signed, padding.PKCS1v15(), hash_)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed, ec.ECDSA(hash_))
        else:
            raise InvalidTimestamp(_("The token's key type is not accepted."))
    except crypto_exceptions.InvalidSignature as error:
        raise InvalidTimestamp(_("The token's signature is not valid.")) from error


def _attribute(signer_info: cms.SignerInfo, name: str) -> Any:
    for attribute in signer_info["signed_attrs"]:
        if attribute["type"].native == name:
            return attribute["values"][0]
    raise InvalidTimestamp(_("The token lacks a signed attribute it must carry."))


def verify(
    token: bytes,
    digest: bytes,
    *,
    certificate: x509.Certificate | None = None,
) -> TimestampInfo:
    """Check that ``token`` is a time-stamp over ``digest`` signed by ``certificate`` (by
    default the platform's own authority) and return what it states. Raises
    :class:`InvalidTimestamp` (or :class:`TimestampMismatch`) otherwise.

    Trust is pinned to that one certificate: a token signed by any other key fails, even
    one with a certificate inside that claims the same name.
    """
    if certificate is None:
        certificate = authority_module.load().certificate
    try:
        content_info = cms.ContentInfo.load(token, strict=True)
        if content_info["content_type"].native != "signed_data":
            raise InvalidTimestamp
        signed_data = content_info["content"]
        encapsulated = signed_data["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise InvalidTimestamp
        tst_bytes = encapsulated["content"].contents
        tst_info = tsp.TSTInfo.load(tst_bytes, strict=True)
        signer_infos = signed_data["signer_infos"]
        if len(signer_infos) != 1:
            raise InvalidTimestamp
        signer_info = signer_infos[0]
        sid = signer_info["sid"].chosen
        if (
            sid["serial_number"].native != certificate.serial_number
            or sid["issuer"] != certificate.issuer
        ):
            raise InvalidTimestamp(_("The token was not signed by this authority."))
        _verify_signature(certificate, signer_info)
        if _attribute(signer_info, "content_type").native != "tst_info":
            raise InvalidTimestamp
        digest_name = signer_info["digest_algorithm"]["algorithm"].native
        if (
            _attribute(signer_info, "message_digest").native
            != hashlib.new(digest_name, tst_bytes).digest()
        ):
            raise InvalidTimestamp(_("The token's content was altered."))
        signing_certificates = _attribute(signer_info, "signing_certificate_v2")
        essid = signing_certificates["certs"][0]
        essid_algorithm = essid["hash_algorithm"]["algorithm"].native
        if essid["cert_hash"].native != hashlib.new(essid_algorithm, certificate.dump()).digest():
            raise InvalidTimestamp(_("The token names another signing certificate."))
        imprint = tst_info["message_imprint"]
        hash_algorithm = str(imprint["hash_algorithm"]["algorithm"].native)
        stated = bytes(imprint["hashed_message"].native)
        info = TimestampInfo(
            serial_number=int(tst_info["serial_number"].native),
            gen_time=tst_info["gen_time"].native,
            policy=tst_info["policy"].dotted,
            hash_algorithm=hash_algorithm,
            digest=stated,
            nonce=tst_info["nonce"].native,
            signer=certificate.subject.human_friendly,
        )
    except InvalidTimestamp:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise InvalidTimestamp from error
    if stated != digest:
        raise TimestampMismatch
    return info


def token_from_response(response: bytes) -> bytes:
    """The token inside a granted TimeStampResp (for clients of another authority)."""
    parsed = TimeStampResp.load(response)
    if parsed["status"]["status"].native not in ("granted", "granted_with_mods"):
        raise InvalidTimestamp(str(parsed["status"]["status_string"].native or ""))
    return bytes(parsed["time_stamp_token"].dump())
