"""Signatures attached to an act's files (a signed PDF, a detached .p7s) are verified
when the act is validated: the report is kept on the act and shown; a signature that
does not verify blocks the sending with what to fix."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from mutualis.core.pdf import text_pdf
from mutualis.legality import errors, services
from mutualis.legality.models import Act, ActStatus
from tests.factories.core import org_url
from tests.factories.legality import prepare
from tests.factories.signing import pem, pki, sign_cades, sign_pdf
from tests.factories.standin import clerk, member

__all__ = ["clerk", "member", "pki"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _anchors(settings, tmp_path, pki) -> None:
    anchors = tmp_path / "anchors.pem"
    anchors.write_bytes(pem(pki.root))
    settings.MUTUALIS_SIGNATURE_TRUST_ANCHORS = str(anchors)


def annex(data: bytes, signature: bytes | None = None, name: str = "annexe.pdf"):
    return services.AnnexUpload(
        io.BytesIO(data),
        name,
        "99_AU",
        services.Upload(io.BytesIO(signature), name + ".p7s") if signature else None,
    )


def validate(clerk, act) -> Act:
    services.validate_act(actor=clerk, act_id=act.pk)
    with scopes_disabled():
        return Act.objects.get(pk=act.pk)


def refusal(clerk, act) -> list[str]:
    with pytest.raises(services.ActRefused) as refused:
        services.validate_act(actor=clerk, act_id=act.pk)
    with scopes_disabled():
        fresh = Act.objects.get(pk=act.pk)
    assert fresh.status == ActStatus.PREPARED
    assert fresh.signature_report == []
    assert fresh.package is None
    return [
        str(p.message) for p in refused.value.problems if isinstance(p, errors.SignatureInvalid)
    ]


def test_a_signed_pdf_and_a_detached_signature_are_verified_and_reported(
    clerk, pki, tmp_path, client: Client
):
    document = sign_pdf(pki.signer, tmp_path, text_pdf(["Délibération signée"]))
    data = text_pdf(["Annexe signée"])
    act = prepare(
        clerk,
        document=services.Upload(io.BytesIO(document), "acte.pdf"),
        annexes=[annex(data, sign_cades(pki.signer, data))],
    )

    validated = validate(clerk, act)

    assert validated.status == ActStatus.WAITING
    report = validated.signature_report
    assert [(r["file"], r["kind"], r["valid"]) for r in report] == [
        ("acte.pdf", "pades", True),
        ("annexe.pdf", "cades", True),
    ]
    assert "Jeanne Signataire" in report[0]["signer"]
    client.force_login(clerk.user)
    page = client.get(org_url("legality:act_detail", pk=act.pk))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Jeanne Signataire" in text
    assert "signatures-title" in text


def test_a_detached_signature_over_other_bytes_blocks_the_sending(clerk, pki):
    data = text_pdf(["Annexe"])
    act = prepare(clerk, annexes=[annex(data, sign_cades(pki.signer, b"autre contenu"))])

    [message] = refusal(clerk, act)

    assert "annexe.pdf" in message
    assert "altered" in message


def test_a_damaged_signature_file_blocks_the_sending(clerk):
    data = text_pdf(["Annexe"])
    act = prepare(clerk, annexes=[annex(data, b"\x30\x03\x02\x01\x01")])

    [message] = refusal(clerk, act)

    assert "annexe.pdf" in message


def test_an_untrusted_signer_blocks_the_sending_unless_the_operator_allows_it(clerk, pki, settings):
    data = text_pdf(["Annexe"])
    act = prepare(clerk, annexes=[annex(data, sign_cades(pki.stranger, data))])

    [message] = refusal(clerk, act)
    assert "authority the platform trusts" in message

    settings.MUTUALIS_LEGALITY_SIGNATURES_MUST_BE_TRUSTED = False
    validated = validate(clerk, act)
    [entry] = validated.signature_report
    assert entry["intact"] is True
    assert entry["trusted"] is False
    assert entry["valid"] is False


def test_an_expired_certificate_blocks_the_sending(clerk, pki):
    data = text_pdf(["Annexe"])
    act = prepare(clerk, annexes=[annex(data, sign_cades(pki.expired, data))])

    [message] = refusal(clerk, act)

    assert "not valid when it signed" in message


def test_the_report_is_read_in_the_api(clerk, pki, client):
    from tests.factories.legality_api import token_for

    data = text_pdf(["Annexe"])
    act = prepare(clerk, annexes=[annex(data, sign_cades(pki.signer, data))])
    _, headers = token_for(client, organisation=clerk.organisation)

    sent = client.post(f"/api/v1/legality/acts/{act.pk}/send", **headers)

    assert sent.status_code == 200, sent.content
    [entry] = sent.json()["signatures"]
    assert entry["kind"] == "cades"
    assert entry["valid"] is True


def test_an_act_changed_after_validation_forgets_its_report(clerk, pki):
    data = text_pdf(["Annexe"])
    act = prepare(clerk, annexes=[annex(data, sign_cades(pki.signer, data))])
    validate(clerk, act)

    services.edit_act(
        actor=clerk,
        act_id=act.pk,
        nature=act.nature,
        number=act.number,
        decided_on=act.decided_on,
        classification_code=act.classification,
        subject="Objet corrigé",
        paper_follows=False,
    )

    with scopes_disabled():
        assert Act.objects.get(pk=act.pk).signature_report == []
