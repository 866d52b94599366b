"""The whole procurement journey in Chromium, each step on its own page as its users take
it: the buyer writes and publishes a consultation in its form; a company's
representative seals and sends its offer; after the deadline, the buyer (also the
commission's key holder) opens it with their passphrase; analyses it (price, formula,
technical score) and closes the analysis; awards the contract and sends the letters;
records the signed contract and notifies it; the holder confirms the receipt on its
page; then the contract is in the DECP and in the OCDS releases, read through the
public API. axe-core on the main pages. Served on http://localhost: WebCrypto needs a
secure context."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.contracts.models import Contract
from mutualis.core.pdf import text_pdf
from mutualis.deposits.models import Deposit
from mutualis.evidence import authority
from mutualis.procurement import deadlines
from mutualis.procurement.models import Consultation
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.companies import (
    company_siren,
    register_company,
    valid_siret,
    verified_person,
)
from tests.factories.core import OrganisationFactory
from tests.factories.deposits_opening import enrol_holder, make_opening_key, pass_deadline
from tests.factories.identity import PASSWORD, make_member
from tests.factories.mfa import totp_code
from tests.factories.procurement import subscribe_to_procurement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSPHRASE = "la commission ouvre les plis"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


def base(live_server) -> str:
    return live_server.url.replace("127.0.0.1", "localhost")


def log_in(page, live_server, email: str, secret: str | None = None) -> None:
    page.goto(f"{base(live_server)}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form[action$='/accounts/login/'] [type=submit]").first.click()
    if secret is not None:
        assert urlsplit(page.url).path == reverse("mfa_authenticate")
        page.fill("input[name=code]", totp_code(secret))
        with page.expect_navigation():
            page.locator("form[action$='/accounts/2fa/authenticate/'] [type=submit]").first.click()


def local(days: int) -> str:
    """A ``datetime-local`` value, ``days`` from now, in Paris time."""
    moment = deadlines.to_paris(timezone.now() + timedelta(days=days))
    return moment.strftime("%Y-%m-%dT%H:%M")


def submit(page, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_from_the_offer_to_the_contract_in_the_open_data(
    browser, live_server, watch_csp, check_accessibility, settings
):
    settings.MFA_TOTP_TOLERANCE = 1
    authority.ensure_authority()
    org = OrganisationFactory(
        name="Commune J",
        slug="commune-j",
        adhesion_status="member",
        siren="212100108",
        siret=valid_siret("212100108", 15),
    )
    subscribe_to_procurement(org)
    verified_person("achats.j@example.org", first_name="Claire", last_name="Achats")
    buyer = make_member(org, "achats.j@example.org", roles=["buyer", "commission_member"])
    buyer_secret = give_authenticator_app(buyer.user)
    holder, _identity = enrol_holder(buyer, PASSPHRASE)
    slug_url = f"{base(live_server)}/o/commune-j"

    # The buyer writes the consultation in the form, with what the DECP needs that the
    # form leaves optional (the CCAG, the price's types and form), its criteria, and
    # publishes it.
    buyer_context = watch_csp(browser.new_context(locale="fr-FR"))
    page = buyer_context.new_page()
    log_in(page, live_server, buyer.user.email, buyer_secret)
    page.goto(f"{slug_url}/procurement/")
    submit(page, t("New consultation"))
    page.get_by_label(t("Internal reference")).fill("2027-J-TOIT")
    page.get_by_label(t("Title")).fill("Réfection de la toiture de la salle des fêtes")
    page.get_by_label(t("Object of the contract")).fill("Couverture et charpente.")
    page.get_by_label(t("Procedure")).select_option("adapted")
    page.get_by_label(t("Category")).select_option("works")
    page.get_by_label(t("Main CPV code")).fill("45261000-4")
    page.get_by_label(t("Estimated value (euros excluding VAT)")).fill("90000")
    page.get_by_label(t("Deadline for questions (Paris time)")).fill(local(10))
    page.get_by_label(t("Deadline for responses (Paris time)")).fill(local(20))
    page.get_by_label(t("Contact")).fill("Service des marchés, marches@commune-j.example")
    page.locator("select[name=ccag]").select_option("works")
    page.locator("input[name=price_types][value=firm]").check()
    page.locator("select[name=price_form]").select_option("lump_sum")
    with page.expect_navigation():
        page.locator("main form").first.locator("[type=submit]").first.click()
    for label, weight in (("Prix", "40"), ("Valeur technique", "60")):
        criterion_form = page.locator("form[action$='/criteria/']")
        criterion_form.get_by_label(t("Criterion")).fill(label)
        criterion_form.get_by_label(t("Weight (%)")).fill(weight)
        with page.expect_navigation():
            criterion_form.locator("[type=submit]").first.click()
    with page.expect_navigation():
        page.locator("form[action$='/publish/'] [type=submit]").first.click()
    expect(page.get_by_text(t("The consultation is published."))).to_be_visible()
    with scopes_disabled():
        consultation = Consultation.objects.get(organisation=org, reference="2027-J-TOIT")
    assert consultation.state == "published"
    make_opening_key(consultation, buyer, [holder], threshold=1)
    siren = company_siren(7)
    siret = valid_siret(siren)
    alice = verified_person("alice@menuiserie-j.example", first_name="Alice")
    register_company(alice, siren=siren, name="Menuiserie Jourdan")
    offer = text_pdf(["Offre de la Menuiserie Jourdan", "Prix global : 84 500 EUR HT"])

    # The representative seals and sends the offer from the consultation's public page.
    company_context = watch_csp(browser.new_context(locale="fr-FR"))
    company = company_context.new_page()
    log_in(company, live_server, alice.email)
    company.goto(f"{base(live_server)}/consultations/{consultation.pk}/")
    with company.expect_navigation():
        company.locator(f"a[href$='/deposits/consultations/{consultation.pk}/']").click()
    company.set_input_files(
        "#deposit-offer-files",
        [{"name": "offre.pdf", "mimeType": "application/pdf", "buffer": offer}],
    )
    company.locator("#deposit-submit").click()
    expect(company.locator("#deposit-ack")).to_be_visible(timeout=90_000)
    with scopes_disabled():
        deposit = Deposit.for_organisation.get(consultation=consultation)
    assert deposit.state == "acknowledged"

    # After the deadline, the buyer starts the opening and unlocks it with the passphrase.
    pass_deadline(consultation)
    page.goto(f"{slug_url}/deposits/consultations/{consultation.pk}/opening/")
    submit(page, t("Start the opening session"))
    page.fill("#opening-passphrase", PASSPHRASE)
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name=t("Unlock")).click()
    expect(page.get_by_role("link", name="offre.pdf")).to_be_visible()

    # The analysis: the price criterion and its formula, the price read from the offer,
    # the technical score, then closed: the ranking is final.
    page.goto(f"{slug_url}/evaluation/consultations/{consultation.pk}/")
    submit(page, t("Start the analysis"))
    check_accessibility(page)
    page.select_option("#price_criterion", label="Prix")
    submit(page, t("Save the settings"))
    page.locator("input[id^='price-']").fill("84500")
    submit(page, t("Save"))
    submit(page, t("Start scoring (the criteria and settings are then fixed)"))
    analysis_url = page.url
    with page.expect_navigation():
        page.get_by_role("link", name=t("Score this offer")).click()
    page.locator("input[name^='score-']").first.fill("8")
    submit(page, t("Record my scores"))
    page.goto(analysis_url)
    submit(page, t("Close the analysis (the ranking is then final)"))

    # The award, its letters, the contract signed and notified through the platform.
    page.goto(f"{slug_url}/contracts/consultations/{consultation.pk}/awards/")
    page.locator("input[name=outcome][value=awarded]").check()
    page.locator("input[id^='amount-d-']").fill("84500")
    page.locator("textarea[id^='reasons-']").fill("Seule offre, conforme et bien notée.")
    submit(page, t("Record the decision"))
    submit(page, t("Notify the decision and send the letters"))
    check_accessibility(page)
    page.locator("input[id^='reference-']").fill("2026-J-001")
    page.locator("input[id^='holder-']").fill(siret)
    page.locator("input[id^='amount-']").first.fill("84500")
    page.locator("input[id^='duration-']").fill("12")
    page.locator("input[id^='signed-']").fill(timezone.localdate().isoformat())
    submit(page, t("Record the contract"))
    with scopes_disabled():
        contract = Contract.for_organisation.get(award__consultation=consultation)
    page.goto(f"{slug_url}/contracts/{contract.pk}/")
    submit(page, t("Notify the contract to the holder through the platform"))

    # The holder confirms the receipt: the proof of receipt starts the DECP clock.
    company.goto(f"{base(live_server)}/c/{siren}/contracts/{contract.pk}/")
    submit(company, t("Confirm the receipt of the notification"))
    check_accessibility(company)
    with scopes_disabled():
        contract.refresh_from_db()
    assert contract.state == "notified"
    assert contract.receipt_confirmed_at is not None

    # The open data, through the public API.
    decp = page.request.get(f"{base(live_server)}/api/v1/decp?siren=212100108").json()
    (marche,) = decp["marches"]["marche"]
    assert marche["id"] == "2026-J-001"
    assert marche["montant"] == 84500
    assert marche["titulaires"][0]["titulaire"]["id"] == siret
    releases = page.request.get(f"{base(live_server)}/api/v1/ocds/releases?buyer=212100108")
    tags = [tag for release in releases.json()["releases"] for tag in release["tag"]]
    assert "tender" in tags
    assert "award" in tags
    assert "contract" in tags
    for context in (company_context, buyer_context):
        context.close()
