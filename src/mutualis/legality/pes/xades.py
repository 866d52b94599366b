"""XAdES-EPES signatures of PES bordereaux, under the Helios signature policy.

The PES V2 schemas declare XAdES **1.1.1** qualifying properties (``PES_Aller.xsd``
imports ``XAdES-core-schema.xsd``, namespace ``http://uri.etsi.org/01903/v1.1.1#``);
the signing tools of the field (Libersign for S²LOW and i-Parapheur) emit **1.2.2**.
signxml only emits 1.3.2, so this module builds the signature itself with lxml and
signs with ``cryptography``:

- one enveloped ``ds:Signature`` per bordereau, the bordereau's last child (where the
  schema's ``PESSignatureGroup`` puts it), two references: the bordereau (``#Id``,
  transforms enveloped-signature then exclusive C14N, SHA-256) and the
  ``SignedProperties`` (``Type=…#SignedProperties``, exclusive C14N, SHA-256);
  ``SignedInfo`` canonicalised with exclusive C14N, signed RSA-SHA256 (or ECDSA-SHA256);
- ``KeyInfo/X509Data`` with the signer's certificate (and the chain given);
- ``Object/QualifyingProperties`` (1.1.1 by default, 1.2.2 on request) with the signing
  time, the signing certificate (SHA-256 digest, issuer and serial), the Helios policy
  (``urn:oid:1.2.250.1.131.1.5.18.21.1.7``, its SHA-256 hash and address as S²LOW and
  Libersign state them), the production place and the claimed role ("Ordonnateur").

``check_bordereau_signatures`` verifies them: every signature through
``mutualis.evidence.signatures.verify_xml`` (integrity, signer, validity at the signing
time, trust), and here what that function leaves to the profile: the reference covers
the bordereau, the qualifying properties are 1.1.1 or 1.2.2, the policy is Helios', the
signing certificate's digest is the signer's.

Meant to be reused by the signature workflow (signing in the browser or on a token
comes there); here the demo and the tests sign with it.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree

from mutualis.evidence import signatures

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES_111 = "http://uri.etsi.org/01903/v1.1.1#"
XADES_122 = "http://uri.etsi.org/01903/v1.2.2#"
PES_XADES_VERSIONS = {"1.1.1": XADES_111, "1.2.2": XADES_122}
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"

HELIOS_POLICY = "urn:oid:1.2.250.1.131.1.5.18.21.1.7"
HELIOS_POLICY_DESCRIPTION = "Politique de signature Helios de la DGFiP"
# The SHA-256 of the policy document, base64, as S²LOW and Libersign declare it.
HELIOS_POLICY_HASH = "roF9+cfRHNPtVJolhdqfIqGMVuUXX8aR4rpiquf0u5E="
HELIOS_POLICY_URI = (
    "https://www.collectivites-locales.gouv.fr/files/files/finances_locales/"
    "dematerialisation/ps_helios_dgfip.pdf"
)


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


def _c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclasses.dataclass(frozen=True)
class Signer:
    """Who signs: the key, the certificate, the chain to put beside it, and what the
    signature says of the signer."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: Sequence[x509.Certificate] = ()
    role: str = "Ordonnateur"
    city: str = ""
    postal_code: str = ""


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _reference(
    signed_info: etree._Element, uri: str, digest: str, transforms: Sequence[str], kind: str = ""
) -> None:
    reference = _sub(signed_info, _ds("Reference"), URI=uri, **({"Type": kind} if kind else {}))
    transforms_element = _sub(reference, _ds("Transforms"))
    for algorithm in transforms:
        _sub(transforms_element, _ds("Transform"), Algorithm=algorithm)
    _sub(reference, _ds("DigestMethod"), Algorithm=SHA256)
    _sub(reference, _ds("DigestValue"), digest)


def _qualifying_properties(
    parent: etree._Element, signer: Signer, signature_id: str, version: str, moment: datetime
) -> etree._Element:
    ns = PES_XADES_VERSIONS[version]
    # 1.1.1 puts the digest method and value in its own namespace, 1.2.2 in xmldsig's.
    digest_ns = ns if version == "1.1.1" else DS

    def x(name: str) -> str:
        return f"{{{ns}}}{name}"

    def digest_pair(parent_element: etree._Element, value: str) -> None:
        _sub(parent_element, f"{{{digest_ns}}}DigestMethod", Algorithm=SHA256)
        _sub(parent_element, f"{{{digest_ns}}}DigestValue", value)

    qualifying = etree.SubElement(parent, x("QualifyingProperties"), nsmap={"xad": ns})
    qualifying.set("Target", f"#{signature_id}")
    signed = _sub(qualifying, x("SignedProperties"), Id=f"{signature_id}-SignedProperties")
    properties = _sub(signed, x("SignedSignatureProperties"))
    _sub(properties, x("SigningTime"), moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
    certificate = _sub(_sub(properties, x("SigningCertificate")), x("Cert"))
    digest_pair(
        _sub(certificate, x("CertDigest")),
        _digest(signer.certificate.public_bytes(serialization.Encoding.DER)),
    )
    issuer_serial = _sub(certificate, x("IssuerSerial"))
    _sub(issuer_serial, _ds("X509IssuerName"), signer.certificate.issuer.rfc4514_string())
    _sub(issuer_serial, _ds("X509SerialNumber"), str(signer.certificate.serial_number))
    policy = _sub(_sub(properties, x("SignaturePolicyIdentifier")), x("SignaturePolicyId"))
    policy_id = _sub(policy, x("SigPolicyId"))
    _sub(policy_id, x("Identifier"), HELIOS_POLICY)
    _sub(policy_id, x("Description"), HELIOS_POLICY_DESCRIPTION)
    digest_pair(_sub(policy, x("SigPolicyHash")), HELIOS_POLICY_HASH)
    qualifier = _sub(_sub(policy, x("SigPolicyQualifiers")), x("SigPolicyQualifier"))
    _sub(qualifier, x("SPURI"), HELIOS_POLICY_URI)
    if signer.city or signer.postal_code:
        place = _sub(properties, x("SignatureProductionPlace"))
        if signer.city:
            _sub(place, x("City"), signer.city)
        if signer.postal_code:
            _sub(place, x("PostalCode"), signer.postal_code)
        _sub(place, x("CountryName"), "France")
    if signer.role:
        _sub(
            _sub(_sub(properties, x("SignerRole")), x("ClaimedRoles")),
            x("ClaimedRole"),
            signer.role,
        )
    return signed  # type: ignore[no-any-return]


def _sign_bytes(signer: Signer, data: bytes) -> tuple[str, bytes]:
    key = signer.key
    if isinstance(key, rsa.RSAPrivateKey):
        return RSA_SHA256, key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    # XML-DSig wants ECDSA as the raw r || s, not DER.
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    size = (key.curve.key_size + 7) // 8
    return ECDSA_SHA256, r.to_bytes(size, "big") + s.to_bytes(size, "big")


def sign_element(
    target: etree._Element,
    signer: Signer,
    *,
    version: str = "1.1.1",
    moment: datetime | None = None,
) -> etree._Element:
    """Sign ``target`` (an element with an ``Id``, inside its document) with an
    enveloped XAdES-EPES signature appended as its last child; the signature."""
    target_id = target.get("Id")
    if not target_id:
        raise ValueError("the signed element needs an Id")
    if version not in PES_XADES_VERSIONS:
        raise ValueError(f"XAdES version {version!r}: expected 1.1.1 or 1.2.2")
    moment = (moment or datetime.now(tz=UTC)).astimezone(UTC)
    signature_id = f"SIG-{target_id}-{uuid.uuid4().hex[:12]}"
    # The enveloped transform removes the signature: the element's digest is the one
    # it has before the signature is appended.
    target_digest = _digest(_c14n(target))
    signature = etree.SubElement(target, _ds("Signature"), nsmap={"ds": DS})
    signature.set("Id", signature_id)
    signed_info = _sub(signature, _ds("SignedInfo"))
    _sub(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    method = _sub(signed_info, _ds("SignatureMethod"), Algorithm=RSA_SHA256)
    value = _sub(signature, _ds("SignatureValue"))
    key_info = _sub(signature, _ds("KeyInfo"))
    x509_data = _sub(key_info, _ds("X509Data"))
    for certificate in (signer.certificate, *signer.chain):
        _sub(
            x509_data,
            _ds("X509Certificate"),
            base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode(),
        )
    signed_properties = _qualifying_properties(
        _sub(signature, _ds("Object")), signer, signature_id, version, moment
    )
    _reference(signed_info, f"#{target_id}", target_digest, (ENVELOPED, EXC_C14N))
    _reference(
        signed_info,
        f"#{signed_properties.get('Id')}",
        _digest(_c14n(signed_properties)),
        (EXC_C14N,),
        kind=f"{PES_XADES_VERSIONS[version][:-1]}#SignedProperties",
    )
    method.set(
        "Algorithm", RSA_SHA256 if isinstance(signer.key, rsa.RSAPrivateKey) else ECDSA_SHA256
    )
    _algorithm, raw = _sign_bytes(signer, _c14n(signed_info))
    value.text = base64.b64encode(raw).decode()
    return signature


BORDEREAU_PATHS = ("PES_DepenseAller/Bordereau", "PES_RecetteAller/Bordereau")


def bordereaux(root: etree._Element) -> list[etree._Element]:
    return [b for path in BORDEREAU_PATHS for b in root.findall(path)]


def sign_bordereaux(
    data: bytes, signer: Signer, *, version: str = "1.1.1", moment: datetime | None = None
) -> bytes:
    """The flow ``data`` with every bordereau signed (one signature each)."""
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    found = bordereaux(root)
    if not found:
        raise ValueError("the flow has no bordereau to sign")
    for bordereau in found:
        sign_element(bordereau, signer, version=version, moment=moment)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- Verification ----------------------------------------------------------------------


@dataclasses.dataclass
class BordereauCheck:
    """One bordereau's signature as checked: ``problems`` empty when it holds."""

    bordereau_id: str
    signer: str = ""
    signing_time: datetime | None = None
    version: str = ""
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def _alone(root: etree._Element, keep: etree._Element) -> bytes:
    """The document with every signature but ``keep`` removed (they sign other
    bordereaux, which ``keep``'s reference does not cover): ``verify_xml`` checks the
    first signature it finds."""
    position = list(root.iter(_ds("Signature"))).index(keep)
    twin = copy.deepcopy(root)
    for index, other in enumerate(list(twin.iter(_ds("Signature")))):
        if index == position:
            continue
        parent = other.getparent()
        if parent is not None:
            parent.remove(other)
    return etree.tostring(twin)


def _profile_problems(signature: etree._Element, bordereau_id: str) -> tuple[str, list[str]]:
    problems: list[str] = []
    references = [
        r.get("URI", "") for r in signature.findall(f"{_ds('SignedInfo')}/{_ds('Reference')}")
    ]
    if f"#{bordereau_id}" not in references:
        problems.append("the signature does not cover its bordereau")
    version = ""
    for name, namespace in PES_XADES_VERSIONS.items():
        if signature.find(f".//{{{namespace}}}SignedProperties") is not None:
            version = name
    if not version:
        problems.append("no XAdES 1.1.1 or 1.2.2 qualifying properties")
        return version, problems
    ns = PES_XADES_VERSIONS[version]
    properties = signature.find(f".//{{{ns}}}SignedProperties")
    if properties is None or f"#{properties.get('Id', '')}" not in references:
        problems.append("the qualifying properties are not signed")
    identifier = signature.findtext(f".//{{{ns}}}SigPolicyId/{{{ns}}}Identifier") or ""
    if identifier.strip() != HELIOS_POLICY:
        problems.append("the signature policy is not Helios'")
    certificates = [
        base64.b64decode("".join((e.text or "").split()))
        for e in signature.iter(_ds("X509Certificate"))
    ]
    digest_ns = ns if version == "1.1.1" else DS
    stated = signature.findtext(
        f".//{{{ns}}}SigningCertificate/{{{ns}}}Cert/{{{ns}}}CertDigest/{{{digest_ns}}}DigestValue"
    )
    if not certificates or (stated or "").strip() != _digest(certificates[0]):
        problems.append("the signing certificate's digest does not match")
    return version, problems


def check_bordereau_signatures(data: bytes) -> tuple[list[BordereauCheck], list[str]]:
    """Each bordereau's signature checked (``BordereauCheck``), and the problems of the
    flow's other signatures (a global one: ``verify_xml`` over the whole flow)."""
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    checks: list[BordereauCheck] = []
    for bordereau in bordereaux(root):
        check = BordereauCheck(bordereau.get("Id", ""))
        checks.append(check)
        own = bordereau.findall(_ds("Signature"))
        if len(own) != 1:
            check.problems.append("no signature" if not own else "several signatures")
            continue
        check.version, problems = _profile_problems(own[0], check.bordereau_id)
        check.problems.extend(problems)
        [report] = signatures.verify_xml(_alone(root, own[0]))
        check.signer = report.signer
        stated = own[0].findtext(
            f".//{{{PES_XADES_VERSIONS.get(check.version, XADES_111)}}}SigningTime"
        )
        check.signing_time = report.signing_time or (
            signatures.xml_time(stated) if stated else None
        )
        if not report.valid:
            check.problems.extend(str(p) for p in report.problems)
    global_problems: list[str] = []
    for signature in root.findall(_ds("Signature")):
        [report] = signatures.verify_xml(_alone(root, signature))
        if not report.valid:
            global_problems.extend(str(p) for p in report.problems)
    return checks, global_problems
