"""A business representative fills the company's procurement profile and keeps its
certificates in the vault: a renamed program is refused, a PDF is added, downloaded,
replaced by its renewal and archived. In Chromium, with axe-core on every page."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.companies.models import VaultDocument
from tests.factories.companies import (
    certificate_pdf,
    company_siren,
    register_company,
    verified_person,
)
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def submit(page, form_selector: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form_selector} [type=submit]").first.click()


def follow(page, link_selector: str) -> None:
    with page.expect_navigation():
        page.locator(link_selector).first.click()


def pdf_file(name: str, *lines: str) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": certificate_pdf(*lines)}


def test_a_representative_keeps_the_companys_certificates_in_the_vault(
    page, live_server, log_in, check_accessibility
):
    base = live_server.url
    for code, name in [("21", "Côte-d'Or"), ("71", "Saône-et-Loire")]:
        OrganisationFactory(kind="departement", insee_code=code, name=name, siren="")
    alice = verified_person("alice@menuiserie.example", first_name="Alice")
    siren = company_siren(1)
    register_company(alice, siren=siren, name="Menuiserie Dupont")
    today = timezone.localdate()

    log_in(page, alice.email, PASSWORD)
    page.goto(f"{base}/c/{siren}/")

    # The procurement profile.
    follow(page, "nav a[href$='/profile/']")
    check_accessibility(page)
    page.locator("select[name=size]").select_option("small")
    page.locator("select[name=main_departement]").select_option("21")
    page.check("input[name=intervention_departements][value='21']")
    page.check("input[name=intervention_departements][value='71']")
    page.fill("textarea[name=activities]", "Menuiserie bois et aluminium.")
    submit(page, "main form[method=post]")
    expect(page.locator(".messages")).to_be_visible()
    expect(page.locator("select[name=size]")).to_have_value("small")
    check_accessibility(page)

    # The vault, empty, then the form to add a document.
    follow(page, "nav a[href$='/vault/']")
    check_accessibility(page)
    follow(page, "main a[href$='/vault/new/']")
    check_accessibility(page)
    page.locator("select[name=document_type]").select_option("urssaf")
    page.fill("input[name=title]", "Attestation du second semestre")
    page.fill("input[name=issued_on]", (today - timedelta(days=3)).isoformat())
    page.fill("input[name=valid_until]", (today + timedelta(days=20)).isoformat())

    # A program renamed .pdf is refused; what was typed stays.
    program = Path(shutil.which("true") or "/bin/true").read_bytes()
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "attestation.pdf", "mimeType": "application/pdf", "buffer": program}],
    )
    submit(page, "main form[method=post]")
    expect(page.locator("main [role=alert]")).to_be_visible()
    assert page.locator("input[name=file][aria-invalid=true]").count() == 1
    expect(page.locator("input[name=title]")).to_have_value("Attestation du second semestre")
    check_accessibility(page)

    # The real certificate goes in, expiring soon.
    certificate = pdf_file("urssaf.pdf", "Attestation")
    page.set_input_files("input[name=file]", files=[certificate])
    submit(page, "main form[method=post]")
    assert page.url.endswith(f"/c/{siren}/vault/")
    expect(page.locator("main .vault-status-expiring_soon")).to_be_visible()
    check_accessibility(page)

    # Its file downloads as it was given.
    link = page.locator("main a[download]").first
    downloaded = page.request.get(base + link.get_attribute("href"))
    assert downloaded.status == 200
    assert downloaded.body() == certificate["buffer"]

    # Renewed: the new version replaces it, the old one stays in the history.
    follow(page, "main a:has-text('Attestation du second semestre')")
    check_accessibility(page)
    follow(page, "main a[href$='/replace/']")
    check_accessibility(page)
    page.fill("input[name=issued_on]", today.isoformat())
    page.fill("input[name=valid_until]", (today + timedelta(days=180)).isoformat())
    page.set_input_files("input[name=file]", files=[pdf_file("urssaf-2.pdf", "Renouvelée")])
    submit(page, "main form[method=post]")
    assert re.search(r"/vault/\d+/$", page.url)
    expect(page.locator("main .vault-status-valid")).to_be_visible()
    expect(page.locator("main table")).to_contain_text("urssaf.pdf")
    check_accessibility(page)

    # Archived, it leaves the list of current documents.
    submit(page, "main form[action$='/archive/']")
    assert page.url.endswith(f"/c/{siren}/vault/")
    expect(page.locator("#vault-archived")).to_be_visible()
    check_accessibility(page)

    with scopes_disabled():
        states = sorted(VaultDocument.objects.values_list("state", flat=True))
    assert states == ["archived", "replaced"]
