"""A buyer uploads the consultation files (DCE) of a draft with two lots and publishes it;
a visitor, without an account, downloads all the files as one ZIP from the public page.
In a French Chromium, axe-core on every page, the Content-Security-Policy watched."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core.services import subscriptions
from mutualis.identity import services as identity
from mutualis.identity.models import Membership
from mutualis.procurement.models import ConsultationDocument
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.procurement import make_consultation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "accept_downloads": True}


@pytest.fixture
def buyer(transactional_db):
    operator = OrganisationFactory(name="Groupement numérique", kind="operator", siren="")
    staff = identity.ensure_user(email="operateur@example.org", password=PASSWORD)
    staff_membership = identity.grant_membership(
        actor=None, user=staff, organisation=operator, roles=["org_admin"]
    )
    semur = OrganisationFactory(name="Semur-en-Auxois", slug="semur", adhesion_status="member")
    person = identity.ensure_user(
        email="acheteur@semur.example", password=PASSWORD, first_name="Alix", last_name="Moreau"
    )
    identity.grant_membership(actor=None, user=person, organisation=semur, roles=["buyer"])
    subscriptions.subscribe(
        actor=staff_membership, organisation_id=semur.pk, service_code="procurement"
    )
    with scopes_disabled():
        membership = Membership.objects.get(user=person, organisation=semur)
    consultation = make_consultation(
        membership, lots=2, reference="2027-ECOLE", title="Rénovation de l'école"
    )
    return {"user": person, "secret": give_authenticator_app(person), "consultation": consultation}


def submit(page, form) -> None:
    with page.expect_navigation():
        form.locator("[type=submit]").first.click()


def test_a_buyer_uploads_the_files_and_a_visitor_downloads_them_as_one_zip(
    live_server, page, log_in_with_app, check_accessibility, buyer, tmp_path: Path
):
    consultation = buyer["consultation"]
    files = {
        "Règlement de consultation.pdf": PDF + b"RC\n",
        "CCTP.pdf": PDF + b"CCTP\n",
    }
    log_in_with_app(page, buyer["user"].email, buyer["secret"])
    page.goto(f"{live_server.url}/o/semur/procurement/{consultation.pk}/")
    check_accessibility(page)

    # --- The buyer adds two files, then tries a program: refused, nothing lost.
    upload = page.locator("form[action$='/files/']")
    upload.get_by_label(t("Files to add")).set_input_files(
        [{"name": n, "mimeType": "application/pdf", "buffer": d} for n, d in files.items()]
    )
    submit(page, upload)
    listed = page.locator("#documents-title ~ table tbody tr")
    expect(listed).to_have_count(2)
    check_accessibility(page)
    upload = page.locator("form[action$='/files/']")
    upload.get_by_label(t("Files to add")).set_input_files(
        [{"name": "notice.pdf", "mimeType": "application/pdf", "buffer": b"MZ" + b"\0" * 100}]
    )
    submit(page, upload)
    expect(page.get_by_text("notice.pdf")).to_be_visible()
    expect(listed).to_have_count(2)

    # --- Published.
    submit(page, page.locator("form[action$='/publish/']"))
    expect(page.get_by_text(t("The consultation is published."))).to_be_visible()
    check_accessibility(page)

    # --- A rectification: an addendum added, the CCTP withdrawn.
    with page.expect_navigation():
        page.get_by_role("button", name=t("Rectify the consultation")).click()
    check_accessibility(page)
    page.get_by_label(t("What the rectification changes (published)")).fill(
        "Additif n° 1 ; le CCTP est remplacé par l'additif."
    )
    page.get_by_label(t("Files to add")).set_input_files(
        [{"name": "Additif.pdf", "mimeType": "application/pdf", "buffer": PDF + b"Additif\n"}]
    )
    page.get_by_role("checkbox", name=re.compile("CCTP")).check()
    submit(page, page.locator("main form").first)
    published = t("The rectification is published: version %(version)d.") % {"version": 2}
    expect(page.get_by_text(published)).to_be_visible()
    check_accessibility(page)
    files.pop("CCTP.pdf")
    files["Additif.pdf"] = PDF + b"Additif\n"

    # --- A visitor, without an account, downloads every current file as one ZIP.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/consultations/{consultation.pk}/")
    with scopes_disabled():
        hashes = list(
            ConsultationDocument.objects.filter(consultation=consultation).values_list(
                "file__sha256", flat=True
            )
        )
    for sha256 in hashes:
        expect(page.get_by_text(sha256).first).to_be_visible()
    expect(page.get_by_text("Additif n° 1 ; le CCTP est remplacé par l'additif.")).to_be_visible()
    check_accessibility(page)
    with page.expect_download() as download_info:
        page.locator("a[href$='/files.zip']").click()
    target = tmp_path / "dce.zip"
    download_info.value.save_as(target)
    with zipfile.ZipFile(target) as archive:
        got = {n: hashlib.sha256(archive.read(n)).hexdigest() for n in archive.namelist()}
    assert got == {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
