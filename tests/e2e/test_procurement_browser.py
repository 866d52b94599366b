"""A buyer creates a consultation with two lots, picking its CPV code from the picker, and
publishes it; the public portal then lists it. In a French Chromium, axe-core on every
page, the Content-Security-Policy watched."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mutualis.core.services import subscriptions
from mutualis.identity import services as identity
from mutualis.procurement import deadlines
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


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
    return {"user": person, "secret": give_authenticator_app(person)}


def local(days: int) -> str:
    """A ``datetime-local`` value, ``days`` from now, in Paris time."""
    moment = deadlines.to_paris(timezone.now() + timedelta(days=days))
    return moment.strftime("%Y-%m-%dT%H:%M")


def submit(page, form) -> None:
    with page.expect_navigation():
        form.locator("[type=submit]").first.click()


def test_a_buyer_publishes_a_consultation_with_two_lots_and_the_public_finds_it(
    live_server, page, log_in_with_app, check_accessibility, buyer
):
    log_in_with_app(page, buyer["user"].email, buyer["secret"])
    page.goto(f"{live_server.url}/o/semur/procurement/")
    check_accessibility(page)

    # --- A new draft; the main CPV code comes from the picker.
    with page.expect_navigation():
        page.get_by_role("button", name=t("New consultation")).click()
    check_accessibility(page)
    page.get_by_label(t("Internal reference")).fill("2027-ECOLE")
    page.get_by_label(t("Title")).fill("Rénovation de l'école des Lavandières")
    page.get_by_label(t("Object of the contract")).fill("Isolation et menuiseries.")
    page.get_by_label(t("Procedure")).select_option("adapted")
    page.get_by_label(t("Category")).select_option("works")
    page.get_by_label(t("Main CPV code")).fill("travaux de construction")
    choice = page.get_by_role("button", name="45000000-7 Travaux de construction")
    expect(choice).to_be_visible()
    check_accessibility(page)
    choice.click()
    expect(page.get_by_label(t("Main CPV code"))).to_have_value("45000000-7")
    page.get_by_label(t("Deadline for questions (Paris time)")).fill(local(10))
    page.get_by_label(t("Deadline for responses (Paris time)")).fill(local(20))
    page.get_by_label(t("Contact")).fill("Service des marchés, marches@semur.example")
    submit(page, page.locator("main form").first)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Rénovation de l'école des Lavandières"
    )
    check_accessibility(page)

    # --- Two lots and the award criteria.
    for number, title, code in ((1, "Isolation", "45321000-3"), (2, "Menuiseries", "45421000-4")):
        lot_form = page.locator("form[action$='/lots/']")
        lot_form.get_by_label(t("Lot number")).fill(str(number))
        lot_form.get_by_label(t("Title")).fill(title)
        lot_form.get_by_label(t("CPV codes of the lot")).fill(code)
        submit(page, lot_form)
    for label, weight in (("Prix", "40"), ("Valeur technique", "60")):
        criterion_form = page.locator("form[action$='/criteria/']")
        criterion_form.get_by_label(t("Criterion")).fill(label)
        criterion_form.get_by_label(t("Weight (%)")).fill(weight)
        submit(page, criterion_form)
    lots = page.locator("#lots-title + table tbody tr")
    expect(lots).to_have_count(2)
    check_accessibility(page)

    # --- Published now.
    submit(page, page.locator("form[action$='/publish/']"))
    expect(page.get_by_text(t("The consultation is published."))).to_be_visible()
    check_accessibility(page)

    # --- The public portal, for anyone: no account needed.
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/consultations/")
    assert urlsplit(page.url).path == "/consultations/"
    row = page.locator("tbody tr").filter(has_text="Rénovation de l'école des Lavandières")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Semur-en-Auxois")
    expect(row).to_contain_text(t("Open"))
    check_accessibility(page)
    with page.expect_navigation():
        row.get_by_role("link", name="Rénovation de l'école des Lavandières").click()
    expect(page.locator("#lots-title + table tbody tr")).to_have_count(2)
    # The deadlines say their time zone (winter or summer time, whenever the test runs).
    expect(page.get_by_text(re.compile(r"\(Paris, UTC\+0[12]:00\)")).first).to_be_visible()
    check_accessibility(page)
