"""A company's representative deposits a response in Chromium: two files from the
computer (a PDF, and a larger one that crosses a chunk) and a document of the company's
vault are encrypted in the page's Web Worker to the consultation's opening key, sent in
chunks (the answer to one lost on the way, another refused with 409: the page sends
again, resumes where the server is), acknowledged; the
progress reaches 100 %; the acknowledgement shows each file's SHA-256. The test then
opens the stored ciphertext with the opening key's identity (which it made itself, as a
buyer's browser would): the plaintext is the file. Then the deposit is withdrawn.
axe-core on the page."""

from __future__ import annotations

import hashlib
import io
import os

import pyrage
import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core import files as files_store
from mutualis.deposits import storage
from mutualis.deposits.models import Deposit, DepositFile, DepositState
from mutualis.evidence import authority
from tests.factories.companies import (
    add_vault_document,
    certificate_pdf,
    company_siren,
    register_company,
    verified_person,
)
from tests.factories.deposits_page import give_opening_key
from tests.factories.identity import PASSWORD
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The receipt job's files are served by the deposit API itself; the test stores one.
RECEIPT_OWNER = "tests.deposit_receipt"


@pytest.fixture(autouse=True)
def _receipt_owner():
    files_store.register_owner(RECEIPT_OWNER, can_read=lambda request, stored: False)
    yield
    files_store.unregister_owner(RECEIPT_OWNER)


def test_a_representative_deposits_a_sealed_response(
    page, live_server, log_in, check_accessibility, agent_a
):
    authority.ensure_authority()
    subscribe_to_procurement(agent_a.organisation)
    consultation = make_consultation(agent_a, publish=True)
    identity = give_opening_key(consultation, agent_a)
    alice = verified_person("alice@menuiserie.example", first_name="Alice")
    siren = company_siren(1)
    representative = register_company(alice, siren=siren, name="Menuiserie Dupont")
    vault_pdf = certificate_pdf("Attestation de vigilance", "Menuiserie Dupont")
    add_vault_document(representative, content=vault_pdf, file_name="urssaf.pdf")

    offer = certificate_pdf("Offre de prix", "Menuiserie Dupont")
    # Larger than one chunk of ciphertext (8 MiB): sent in two calls.
    memoir = b"%PDF-1.7\n" + os.urandom(9 * 1024 * 1024)
    plaintexts = {"offre.pdf": offer, "memoire-technique.pdf": memoir, "urssaf.pdf": vault_pdf}

    log_in(page, alice.email, PASSWORD)
    page.goto(f"{live_server.url}/consultations/{consultation.pk}/")
    with page.expect_navigation():
        page.locator(f"a[href$='/deposits/consultations/{consultation.pk}/']").click()
    expect(page.locator("#deposit-countdown")).not_to_have_text("—")
    check_accessibility(page)

    # A type the consultation does not accept is refused before anything is encrypted.
    page.set_input_files(
        "#deposit-offer-files",
        [{"name": "outil.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" * 8}],
    )
    page.locator("#deposit-submit").click()
    expect(page.locator("#deposit-error")).to_contain_text("outil.exe")
    expect(page.locator("#deposit-progress")).to_be_hidden()
    with scopes_disabled():
        assert not Deposit.for_company.filter(company_id=representative.company_id).exists()

    page.set_input_files(
        "#deposit-offer-files",
        [
            {"name": "offre.pdf", "mimeType": "application/pdf", "buffer": offer},
            {"name": "memoire-technique.pdf", "mimeType": "application/pdf", "buffer": memoir},
        ],
    )
    page.locator("input.deposit-vault").check()

    # The answer to the first chunk is lost after the server stored it: the page sends
    # the same chunk again, with the same idempotency key, and goes on. The first chunk
    # at a later offset is answered 409 without reaching the server: the page asks the
    # server what it holds and resumes there.
    lost: list[str] = []
    conflicts: list[str] = []

    def troubled_network(route) -> None:
        if not lost:
            route.fetch()
            lost.append(route.request.headers["idempotency-key"])
            route.abort("connectionreset")
        elif not conflicts and not route.request.url.endswith("offset=0"):
            conflicts.append(route.request.url)
            route.fulfill(
                status=409,
                content_type="application/json",
                body='{"code": "unexpected_offset", "field": null, "message": "Elsewhere."}',
            )
        else:
            route.continue_()

    page.route("**/api/v1/deposits/*/files/*/content?offset=*", troubled_network)
    page.locator("#deposit-submit").click()

    expect(page.locator("#deposit-ack")).to_be_visible(timeout=90_000)
    expect(page.locator("#deposit-error")).to_be_empty()
    assert len(lost) == 1
    assert lost[0].endswith(":0")
    assert len(conflicts) == 1
    assert conflicts[0].endswith(f"offset={8 * 1024 * 1024}")
    expect(page.locator("#deposit-overall")).to_have_js_property("value", 100)
    for index in range(3):
        expect(page.locator(f"#deposit-file-{index}")).to_have_js_property("value", 100)

    with scopes_disabled():
        deposit = Deposit.for_company.get(company_id=representative.company_id)
        files = list(DepositFile.for_company.filter(deposit=deposit))
    assert deposit.state == DepositState.ACKNOWLEDGED
    assert not deposit.late
    expect(page.locator("#deposit-ack-reference")).to_have_text(deposit.reference)
    ack_text = page.locator("#deposit-ack-files").inner_text()
    assert {f.name for f in files} == set(plaintexts)
    for stored in files:
        plaintext = plaintexts[stored.name]
        digest = hashlib.sha256(plaintext).hexdigest()
        # The browser's fingerprint of the plaintext, recorded and shown.
        assert stored.plaintext_sha256 == digest
        assert digest in ack_text
        assert stored.ciphertext_sha256 in ack_text
        ciphertext = storage.path_of(stored.storage_name).read_bytes()
        assert len(ciphertext) == stored.ciphertext_size
        assert hashlib.sha256(ciphertext).hexdigest() == stored.ciphertext_sha256
        assert plaintext not in ciphertext
        assert pyrage.decrypt(ciphertext, [identity]) == plaintext
    # The signed receipt is made by a background job (not this page's): once it is
    # there, the acknowledgement offers its link.
    receipt = certificate_pdf("Accusé de réception", deposit.reference)
    with scopes_disabled():
        stored = files_store.store_file(
            file=io.BytesIO(receipt), name="accuse.pdf", owner_kind=RECEIPT_OWNER
        )
        Deposit.for_company.filter(pk=deposit.pk).update(receipt_pdf=stored)
    receipt_link = page.locator("#deposit-ack-receipt a")
    expect(receipt_link).to_have_attribute(
        "href", f"/api/v1/deposits/{deposit.reference}/receipt.pdf", timeout=70_000
    )
    assert page.request.get(f"{live_server.url}{receipt_link.get_attribute('href')}").body() == (
        receipt
    )
    kinds = {f.name: f.kind for f in files}
    assert kinds == {
        "offre.pdf": "offer",
        "memoire-technique.pdf": "offer",
        "urssaf.pdf": "application",
    }
    check_accessibility(page)

    # The list, reread, shows the deposit; it is withdrawn before the deadline.
    withdraw = page.locator(f"button.deposit-withdraw[data-reference='{deposit.reference}']")
    expect(withdraw).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    withdraw.click()
    expect(page.locator("#deposit-status")).to_contain_text(deposit.reference)
    expect(withdraw).to_have_count(0)
    with scopes_disabled():
        assert Deposit.for_company.get(pk=deposit.pk).state == DepositState.WITHDRAWN
    check_accessibility(page)
