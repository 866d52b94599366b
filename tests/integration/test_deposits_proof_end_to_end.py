"""The proof of deposit on deposits made through the deposit API (deposit-api's services):
the acknowledgement's signal makes the signed receipt PDF, the job closes the log at
the deadline, and the bidder's receipt and proof check offline with the script."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from pyhanko.pdf_utils.reader import PdfFileReader

from mutualis.core import files
from mutualis.deposits import log_sections, receipt_pdf
from mutualis.deposits.models import Deposit, DepositLogRoot, LogSection
from mutualis.evidence import authority
from tests.factories.deposits_api import representative, seal, sealed_consultation
from tests.factories.deposits_proof import move_deadline, past

pytestmark = pytest.mark.django_db

API = "/api/v1/deposits"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "verify_inclusion.py"


@pytest.fixture(autouse=True)
def _keys() -> None:
    authority.ensure_authority()
    receipt_pdf.ensure_signing_key()


def post(client, path, data, key):
    return client.post(
        path, json.dumps(data), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def deposit(client, sealed, name: str, plaintext: bytes) -> str:
    """A whole deposit through the API, as the page's script or an API client makes it."""
    started = post(client, API, {"consultation": sealed.consultation.pk}, f"start-{name}")
    assert started.status_code == 201, started.content
    reference = started.json()["reference"]
    sealed_file = seal(name, plaintext, sealed.recipient)
    declared = post(client, f"{API}/{reference}/files", sealed_file.declaration(), f"f-{name}")
    assert declared.status_code == 201, declared.content
    file_id = declared.json()["id"]
    sent = client.put(
        f"{API}/{reference}/files/{file_id}/content?offset=0",
        sealed_file.ciphertext,
        content_type="application/octet-stream",
        HTTP_IDEMPOTENCY_KEY=f"c-{name}",
    )
    assert sent.status_code == 200, sent.content
    done = post(client, f"{API}/{reference}/complete", {}, f"done-{name}")
    assert done.status_code == 200, done.content
    return reference


def test_a_deposit_through_the_api_gets_its_signed_pdf_and_its_proof(
    client, agent_a, tmp_path, django_capture_on_commit_callbacks
):
    sealed = sealed_consultation(agent_a)
    first, second = representative(1), representative(2)
    references = {}
    for rep, name in ((first, "offre-1.pdf"), (second, "offre-2.pdf")):
        client.force_login(rep.user)
        with django_capture_on_commit_callbacks(execute=True):
            references[rep.pk] = deposit(client, sealed, name, b"%PDF-1.7\n" + name.encode() * 99)

    # The acknowledgement's signal made each receipt PDF, signed and mailed.
    with scopes_disabled():
        rows = {d.reference: d for d in Deposit.for_organisation.select_related("receipt_pdf")}
    for reference in references.values():
        stored = rows[reference].receipt_pdf
        assert stored is not None
        with files.open_stored_file(stored) as handle:
            content = handle.read()
        assert len(PdfFileReader(io.BytesIO(content)).embedded_signatures) == 1

    # Before the deadline: no proof, nothing on the page.
    client.force_login(first.user)
    proof_url = reverse(
        "company_deposits_proof:proof_json",
        kwargs={"company": first.company.siren, "reference": references[first.pk]},
    )
    assert client.get(proof_url).status_code == 409
    api_proof = f"/api/v1/deposits/{references[first.pk]}/proof"
    early = client.get(api_proof)
    assert early.status_code == 409
    assert early.json()["code"] == "deposit_proof_not_available"
    assert log_sections.close_due_sections() == 0

    move_deadline(sealed.consultation, past())
    assert log_sections.close_due_sections() == 1
    closed = DepositLogRoot.objects.get(
        consultation_id=sealed.consultation.pk, section=LogSection.ON_TIME
    )
    assert closed.size == 2
    (tmp_path / "proof.json").write_bytes(client.get(proof_url).content)
    # The API gives the same proof as the company's page.
    from_api = client.get(api_proof)
    assert from_api.status_code == 200
    assert from_api.json() == json.loads((tmp_path / "proof.json").read_bytes())
    (tmp_path / "receipt.json").write_bytes(
        client.get(proof_url.replace("proof.json", "receipt.json")).content
    )
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(SCRIPT),
            "--receipt",
            "receipt.json",
            "--proof",
            "proof.json",
            "--root",
            closed.root,
            "--size",
            "2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
