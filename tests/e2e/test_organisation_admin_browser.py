"""An administrator of a commune uses the platform in Chromium; axe-core checks every page.

Their organisation's space and services, its audit trail (and no other's), the 404 page
with the site's layout (a service it does not subscribe to, the operator's back office),
and the space once switched to English.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core.models import AuditEvent, Service
from mutualis.core.services import subscriptions
from mutualis.identity import services as identity
from tests.e2e.conftest import give_authenticator_app, t
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    # A French browser, as the platform's people have: LocaleMiddleware follows it.
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def communes(transactional_db):
    """Semur subscribes to the signature workflow, Montbard to legality; each has its own
    trail."""
    operator = OrganisationFactory(name="Groupement numérique", kind="operator", siren="")
    staff = identity.ensure_user(email="operateur@example.org", password=PASSWORD)
    staff_membership = identity.grant_membership(
        actor=None, user=staff, organisation=operator, roles=["org_admin"]
    )
    semur = OrganisationFactory(name="Semur-en-Auxois", slug="semur", adhesion_status="member")
    montbard = OrganisationFactory(name="Montbard", adhesion_status="member")
    admin = identity.ensure_user(
        email="alix.moreau@example.org", password=PASSWORD, first_name="Alix", last_name="Moreau"
    )
    identity.grant_membership(actor=None, user=admin, organisation=semur, roles=["org_admin"])
    neighbour = identity.ensure_user(email="sacha@example.org", password=PASSWORD)
    identity.grant_membership(actor=None, user=neighbour, organisation=montbard, roles=["buyer"])
    subscriptions.subscribe(
        actor=staff_membership, organisation_id=semur.pk, service_code="signature"
    )
    subscriptions.subscribe(
        actor=staff_membership, organisation_id=montbard.pk, service_code="legality"
    )
    return {
        "admin": admin,
        "admin_secret": give_authenticator_app(admin),
        "semur": semur,
        "montbard": montbard,
    }


def test_organisation_administrator_journey(
    live_server, page, log_in_with_app, check_accessibility, communes
):
    semur, montbard = communes["semur"], communes["montbard"]
    signature, legality = _service_name("signature"), _service_name("legality")

    # --- Their organisation's space (they act for it alone, so they land in it): the
    # services it subscribes to, and only those; the signature workflow is not provided by
    # any context of this instance yet, so it is listed as not available, without a link.
    log_in_with_app(page, communes["admin"].email, communes["admin_secret"])
    assert urlsplit(page.url).path == "/o/semur/"
    assert page.locator("html").get_attribute("lang") == "fr"
    # Pico's stylesheet is loaded: axe's contrast checks depend on it.
    assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")
    services = page.locator("#services-title + ul")
    expect(services).to_contain_text(signature)
    expect(services).to_contain_text(t("not available yet on this platform"))
    expect(services.get_by_role("link")).to_have_count(0)
    expect(page.get_by_text(legality)).to_have_count(0)
    check_accessibility(page)

    # --- The organisation's audit trail, from the main menu.
    main_menu = page.get_by_role("navigation", name=t("Main menu"))
    with page.expect_navigation():
        main_menu.get_by_role("link", name=t("Audit trail")).click()
    assert urlsplit(page.url).path == "/o/semur/audit/"
    expect(main_menu.get_by_role("link", name=t("Audit trail"))).to_have_attribute(
        "aria-current", "page"
    )
    with scopes_disabled():
        own = list(AuditEvent.objects.filter(organisation=semur))
        others = list(AuditEvent.objects.filter(organisation=montbard))
    assert own, "the membership and the subscription wrote events"
    assert others, "so did the other commune's"
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(len(own))
    # Rows read (sequence, action, object), newest first.
    shown = [
        (cells[0], cells[2], cells[3])
        for cells in (row.locator("td").all_inner_texts() for row in rows.all())
    ]
    assert shown == [
        (str(e.sequence), e.action, f"{e.object_type} {e.object_id}")
        for e in sorted(own, key=lambda e: -e.sequence)
    ]
    assert not {f"{e.object_type} {e.object_id}" for e in others} & {row[2] for row in shown}
    check_accessibility(page)

    # --- A service it does not subscribe to: the 404 page, in the site's layout.
    response = page.goto(f"{live_server.url}/o/semur/services/legality/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text(t("Page not found"))
    expect(page.get_by_role("navigation", name=t("Main menu"))).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_be_visible()
    check_accessibility(page)

    # --- The operator's back office does not exist for it: the 404 page.
    response = page.goto(f"{live_server.url}/operator/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text(t("Page not found"))
    expect(page.get_by_role("navigation", name=t("Main menu"))).to_be_visible()
    check_accessibility(page)

    # --- In English, from the header's language button.
    page.goto(f"{live_server.url}/o/semur/")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert urlsplit(page.url).path == "/o/semur/"
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator("h1")).to_have_text("Semur-en-Auxois")
    expect(page.locator("#services-title")).to_have_text("Services")
    expect(
        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Audit trail")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Français")).to_have_attribute("lang", "fr")
    check_accessibility(page)


def _service_name(code: str) -> str:
    return Service.objects.get(code=code).name
