"""A visitor browses the directory in Chromium; axe-core checks every page (WCAG 2.1 AA)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import translation
from django_scopes import scope

import mutualis
from mutualis.core.models import Subscription
from tests.factories.core import OrganisationFactory

# The live server reads committed rows: each test commits, and the database is emptied
# after it, rows written by data migrations included (see ``migration_data``).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Axe()
PROJECT_STATIC = Path(mutualis.__file__).parent / "static"


def fr(text: str) -> str:
    """The French of a source string: the browser below is a French one."""
    with translation.override("fr"):
        return translation.gettext(text)


@pytest.fixture
def browser_context_args(browser_context_args):
    # A French browser: the platform follows the browser's language (LocaleMiddleware).
    return {**browser_context_args, "locale": "fr-FR"}


def assert_no_axe_violation(page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture
def territory(transactional_db):
    region = OrganisationFactory(name="Bourgogne-Franche-Comté", kind="region", insee_code="27")
    cote_dor = OrganisationFactory(
        name="Côte-d'Or", kind="departement", insee_code="21", region=region
    )
    saone = OrganisationFactory(
        name="Saône-et-Loire", kind="departement", insee_code="71", region=region
    )
    OrganisationFactory(name="Dijon", insee_code="21231", region=region, departement=cote_dor)
    macon = OrganisationFactory(
        name="Mâcon",
        insee_code="71270",
        population=33000,
        region=region,
        departement=saone,
        adhesion_status="member",
        adhesion_since=date(2024, 3, 1),
        slug="macon",
        # A bright primary colour: the banner's text must turn black to stay readable.
        primary_colour="#ffd500",
        secondary_colour="#0b3d2e",
    )
    with scope(organisation=macon.pk):
        Subscription.objects.create(
            organisation=macon, service_id="procurement", since=date(2025, 1, 1)
        )
    return macon


@pytest.fixture
def requests_seen(page):
    """Every address the browser asks for, and the failed answers."""
    seen: dict[str, list[str]] = {"urls": [], "failed": []}
    page.on("request", lambda request: seen["urls"].append(request.url))
    page.on(
        "response",
        lambda response: response.status >= 400 and seen["failed"].append(response.url),
    )
    return seen


def test_visitor_finds_an_organisation_by_departement(live_server, page, territory, requests_seen):
    # The home page, in French by default.
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").count() == 1
    # Pico's stylesheet is loaded: axe's contrast check depends on it.
    assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")
    assert_no_axe_violation(page)

    # The skip link is the first stop of the keyboard, and shows when focused.
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("element => element === document.activeElement")
    assert skip.bounding_box()["y"] >= 0

    # The directory, from the main menu.
    page.get_by_role("navigation", name=fr("Main menu")).get_by_role(
        "link", name=fr("Directory")
    ).click()
    page.wait_for_url("**/organisations/")
    assert page.locator("table tbody tr").count() == 5
    assert_no_axe_violation(page)

    # Filter by département.
    page.get_by_label("Département").select_option("71")
    page.get_by_role("button", name=fr("Filter")).click()
    page.wait_for_url("**/organisations/?*departement=71*")
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    assert "2 organismes" in page.locator("#result-count").inner_text()
    assert_no_axe_violation(page)

    # The organisation's public page, in its own colours.
    page.get_by_role("link", name="Mâcon").click()
    page.wait_for_url("**/organisations/macon/")
    assert page.locator("h1").inner_text() == "Mâcon"
    banner = page.locator(".org-banner")
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 213, 0)"
    assert banner.evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 0)"
    assert "Marchés publics" in page.locator("#services-title + ul").inner_text()
    assert_no_axe_violation(page)

    # Nothing came from outside the platform, and nothing failed to load.
    host = urlsplit(live_server.url).netloc
    assert {urlsplit(url).netloc for url in requests_seen["urls"]} == {host}
    assert requests_seen["failed"] == []


def test_pages_stay_accessible_in_english_and_dark_mode(live_server, page, territory):
    page.goto(live_server.url + "/organisations/")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert_no_axe_violation(page)

    page.emulate_media(color_scheme="dark")
    for path in ("/", "/organisations/", "/organisations/macon/"):
        page.goto(live_server.url + path)
        assert_no_axe_violation(page)


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_account_entrance_pages_are_accessible(live_server, page, path):
    page.goto(live_server.url + path)
    assert page.locator("h1").count() == 1
    assert page.locator("nav.site-nav").count() == 1
    assert_no_axe_violation(page)


def test_account_management_pages_are_accessible(live_server, page, transactional_db):
    from allauth.account.models import EmailAddress

    from tests.factories.identity import PASSWORD, UserFactory

    user = UserFactory(email="camille@example.org")
    # allauth offers two-factor authentication to verified addresses only.
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    page.goto(live_server.url + "/accounts/login/")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[action$='/accounts/login/'] [type=submit]").click()

    for path in ("/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"):
        page.goto(live_server.url + path)
        assert urlsplit(page.url).path == path
        assert page.locator("h1").count() == 1, path
        assert page.locator("nav.account-nav").count() == 1, path
        assert_no_axe_violation(page)

    # Setting up an authenticator asks for the password again first.
    page.goto(live_server.url + "/accounts/2fa/totp/activate/")
    assert urlsplit(page.url).path == "/accounts/reauthenticate/"
    assert_no_axe_violation(page)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form [type=submit]").first.click()
    assert urlsplit(page.url).path == "/accounts/2fa/totp/activate/"
    assert page.locator("h1").count() == 1
    assert_no_axe_violation(page)


def test_api_documentation_loads_only_from_the_platform(live_server, page, requests_seen):
    page.goto(live_server.url + "/api/v1/docs")
    page.get_by_text("/api/v1/organisations").first.wait_for()
    host = urlsplit(live_server.url).netloc
    assert {urlsplit(url).netloc for url in requests_seen["urls"]} == {host}
    assert requests_seen["failed"] == []
