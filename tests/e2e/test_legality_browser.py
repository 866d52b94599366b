"""A legality agent prepares an act for the prefecture, validates it and finds its
transmission package. In Chromium, in French, with axe-core on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mutualis.core.pdf import text_pdf
from mutualis.identity import services as identity
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD, make_member
from tests.factories.legality import enrol, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    """A browser that asks for French, as the member's agents' do."""
    return {**browser_context_args, "locale": "fr-FR"}


def submit(page, form_selector: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form_selector} [type=submit]").first.click()


def test_an_agent_prepares_and_validates_an_act(
    page, live_server, log_in_with_app, check_accessibility
):
    org = OrganisationFactory(
        name="Commune L", slug="commune-l", siren="212100108", adhesion_status="member"
    )
    subscribe(org)
    admin = make_member(org, "maire.l@example.org", roles=["org_admin"])
    give_authenticator_app(admin.user)
    enrol(admin)
    agent = identity.ensure_user(email="actes.l@example.org", password=PASSWORD)
    identity.grant_membership(actor=None, user=agent, organisation=org, roles=["legality_agent"])
    secret = give_authenticator_app(agent)

    log_in_with_app(page, agent.email, secret)
    page.goto(f"{live_server.url}/o/commune-l/legality/")
    check_accessibility(page)
    with page.expect_navigation():
        page.get_by_role("button", name=t("Prepare an act")).click()
    check_accessibility(page)

    page.locator("select[name=nature]").select_option("1")
    page.fill("input[name=number]", "DEL_2026_099")
    page.fill("input[name=decided_on]", "2026-02-03")
    page.locator("select[name=classification]").select_option("7.5")
    page.fill("textarea[name=subject]", "Subventions aux associations culturelles")
    page.set_input_files(
        "input[name=document]",
        {
            "name": "deliberation.pdf",
            "mimeType": "application/pdf",
            "buffer": text_pdf(["Délibération"]),
        },
    )
    page.set_input_files(
        "input[name=annex_1]",
        {"name": "annexe.pdf", "mimeType": "application/pdf", "buffer": text_pdf(["Annexe"])},
    )
    page.locator("select[name=annex_1_type]").select_option("99_AU")
    submit(page, "main form[method=post]")

    expect(page.locator("h1")).to_contain_text("DEL_2026_099")
    expect(page.locator("main")).to_contain_text(t("Not validated yet."))
    check_accessibility(page)

    submit(page, "main form[action$='/validate/']")
    expect(page.locator("main")).to_contain_text(
        t("The act has been checked: its transmission package waits to be sent.")
    )
    package = page.locator("a[href*='EACT-MUTUALIS--212100108--']")
    expect(package).to_be_visible()
    check_accessibility(page)

    with page.expect_download() as download:
        package.click()
    assert download.value.suggested_filename.endswith(".tar.gz")
