"""Signatures found in documents (PAdES, XAdES enveloped and detached, detached CAdES):
each is reported with its signer, issuer, signing time, the certificate's validity at that
time, the document's integrity and whether it chains to the configured trust anchors.

The tests build their own certificate authorities (a root, an intermediate the signature
carries, and a stranger's root) and sign with the tools signers use: pyHanko for PDF,
signxml for XML, cryptography's PKCS#7 builder for CAdES."""

from __future__ import annotations

import datetime

import pytest

from mutualis.evidence import signatures
from mutualis.evidence.signatures import verify_cades, verify_pdf, verify_signature, verify_xml
from tests.factories.signing import (
    Signer,
    blank_pdf,
    pem,
    pki,
    sign_cades,
    sign_pdf,
    sign_xades,
)

__all__ = ["pki"]  # the signing authorities fixture (tests/factories/signing.py)

DOCUMENT = b"<Acte><Numero>2026-042</Numero><Objet>Marche de voirie</Objet></Acte>"


@pytest.fixture(autouse=True)
def _anchors(settings, tmp_path, pki) -> None:
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pem(pki.root))
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(anchors)


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
