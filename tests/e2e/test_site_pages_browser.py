"""A visitor reads the pages every user is owed and tests their workstation, in Chromium."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


def test_a_visitor_tests_their_workstation(page, live_server, check_accessibility):
    page.goto(live_server.url + reverse("core:prerequisites"))
    check_accessibility(page)

    page.get_by_role("button", name="Lancer le test").click()

    results = page.locator("#workstation-results")
    expect(results).to_be_visible()
    expect(results.locator('[data-result="speed"]')).to_have_text(re.compile(r"Mbit/s"))
    expect(results.locator('[data-result="crypto"]')).to_have_text("Oui")
    # The browser and the live server share this machine's clock.
    clock = results.locator('[data-result="clock"]')
    expect(clock).to_have_attribute("data-ok", "true")
    expect(clock).to_have_text(re.compile(r"^0\.\d s"))
    check_accessibility(page)


@pytest.mark.parametrize("name", ["core:legal", "core:accessibility", "core:help"])
def test_the_pages_every_user_is_owed_pass_axe(page, live_server, check_accessibility, name):
    page.goto(live_server.url + reverse(name))

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_accessibility(page)


def test_the_footer_leads_to_the_accessibility_statement(page, live_server):
    page.goto(live_server.url + "/")

    page.get_by_role("link", name=re.compile("Accessibilité : ")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Déclaration d\u2019accessibilité")
