"""A person saves an alert from a search of the portal; a buyer publishes a matching
consultation; the alert's e-mail arrives with its link, and its unsubscribe link asks
before it acts. In a French Chromium, axe-core on every page, the Content-Security-Policy
watched."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from mutualis.core.models import OutgoingEmail
from mutualis.identity import services as identity
from mutualis.procurement.models import Alert
from tests.e2e.conftest import t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD, make_member
from tests.factories.procurement import make_consultation, subscribe_to_procurement
from tests.mailbox import delivered, delivered_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def buyer(transactional_db):
    semur = OrganisationFactory(name="Semur-en-Auxois", slug="semur", adhesion_status="member")
    subscribe_to_procurement(semur)
    return make_member(semur, "acheteur@semur.example", roles=["buyer"])


def test_a_person_saves_an_alert_and_receives_the_matching_consultation(
    live_server, page, log_in, check_accessibility, buyer
):
    person = identity.ensure_user(email="lea@couvreurs.example", password=PASSWORD)
    log_in(page, person.email, PASSWORD)

    # --- From a search of the portal, an alert prefilled with its criteria.
    page.goto(f"{live_server.url}/consultations/?q=toiture&category=works")
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("link", name=t("Create an alert from this search")).click()
    expect(page.get_by_label(t("Words"))).to_have_value("toiture")
    check_accessibility(page)
    page.get_by_label(t("Name of the alert")).fill("Toitures")
    page.get_by_label(t("At once, for each new consultation")).check()
    with page.expect_navigation():
        page.get_by_role("button", name=t("Save the alert")).click()
    expect(page.get_by_role("link", name="Toitures", exact=True)).to_be_visible()
    check_accessibility(page)

    # --- A buyer publishes a matching consultation, and another one that does not match.
    make_consultation(buyer, publish=True, reference="R-1", title="Réfection de la toiture")
    make_consultation(
        buyer, publish=True, reference="R-2", title="Entretien des chaudières",
        object="Maintenance.", category="services", main_cpv="50000000",
    )  # fmt: skip

    # --- The alert's e-mail arrives, with the consultation's public page.
    [mail] = OutgoingEmail.objects.filter(to=person.email)
    text = delivered_text(mail)
    assert "Réfection de la toiture" in text
    assert "Entretien des chaudières" not in text
    link = re.search(r"(https?://\S+/consultations/\d+/)", text)
    assert link, text
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Réfection de la toiture")
    check_accessibility(page)

    # --- Its unsubscribe link asks first (mail scanners follow links), then acts.
    unsubscribe = re.fullmatch(r"<(.+)>", delivered(mail).extra_headers["List-Unsubscribe"])
    assert unsubscribe
    page.context.clear_cookies()
    page.goto(unsubscribe.group(1))
    assert urlsplit(page.url).path.startswith("/alerts/unsubscribe/")
    check_accessibility(page)
    assert Alert.objects.get(user=person).is_active
    with page.expect_navigation():
        page.get_by_role("button", name=t("Unsubscribe")).click()
    expect(page.locator("main p[role=status]")).to_contain_text("Toitures")
    check_accessibility(page)
    assert not Alert.objects.get(user=person).is_active
