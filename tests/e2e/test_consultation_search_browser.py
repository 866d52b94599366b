"""A business searches the portal with the keyboard only: words without accents, a
procedure ticked with the space bar, the filters kept from page to page. axe-core on
every page, the Content-Security-Policy watched."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import t
from tests.factories.procurement import make_consultation, subscribe_to_procurement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def published(agent_a):
    subscribe_to_procurement(agent_a.organisation)
    make_consultation(agent_a, reference="1", title="Rénovation de l'école", publish=True)
    make_consultation(
        agent_a,
        reference="2",
        title="Fournitures pour l'école",
        procedure="open",
        category="supplies",
        main_cpv="15894000",
        publish=True,
    )
    make_consultation(agent_a, reference="3", title="Voirie communale", publish=True)


def test_a_visitor_searches_with_the_keyboard(live_server, page, check_accessibility, published):
    page.goto(f"{live_server.url}/consultations/")
    check_accessibility(page)
    expect(page.locator("tbody tr")).to_have_count(3)

    page.locator("#id_q").focus()
    page.keyboard.type("ecole")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("tbody tr")).to_have_count(2)
    check_accessibility(page)

    page.get_by_label(t("Open call for tenders")).focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name=t("Search")).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("Fournitures pour l'école")
    assert "q=ecole" in page.url
    assert "procedure=open" in page.url
    check_accessibility(page)

    # A wrong criterion is said next to its field, and the page still passes axe.
    page.goto(f"{live_server.url}/consultations/?cpv=abc")
    expect(page.locator("#id_cpv_error")).to_be_visible()
    check_accessibility(page)
