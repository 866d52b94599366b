"""An agent of two organisations logs in and acts for each at its own address."""

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core.models import AuditEvent
from mutualis.identity import services as identity
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.mfa import TOTP_SECRET, give_authenticator_app

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def agent_of_two(db):
    commune = OrganisationFactory(name="Commune de Dijon", kind="commune")
    epci = OrganisationFactory(name="Dijon Métropole", kind="epci_metro")
    user = identity.ensure_user(
        email="camille@example.org", password=PASSWORD, first_name="Camille", last_name="Bernard"
    )
    identity.grant_membership(actor=None, user=user, organisation=commune, roles=["org_admin"])
    identity.grant_membership(actor=None, user=user, organisation=epci, roles=["buyer"])
    # Both roles require a second factor: log_in answers allauth's code step.
    give_authenticator_app(user)
    return user, commune, epci


def test_login_then_act_for_each_organisation_at_its_own_address(
    page, live_server, log_in, check_accessibility, agent_of_two
):
    user, commune, epci = agent_of_two
    page.goto(f"{live_server.url}/accounts/login/")
    check_accessibility(page)

    # Two organisations: the home page lists both spaces.
    log_in(page, user.email, PASSWORD, totp_secret=TOTP_SECRET)
    main = page.locator("main")
    expect(main.locator(f"a[href='/o/{commune.slug}/']")).to_have_text("Commune de Dijon")
    expect(main.locator(f"a[href='/o/{epci.slug}/']")).to_have_text("Dijon Métropole")
    check_accessibility(page)

    # The EPCI, as a buyer only: its audit page does not exist for them.
    with page.expect_navigation():
        main.locator(f"a[href='/o/{epci.slug}/']").click()
    expect(page.locator("details.spaces summary")).to_contain_text("Dijon Métropole")
    check_accessibility(page)
    response = page.goto(f"{live_server.url}/o/{epci.slug}/audit/")
    assert response.status == 404

    # The commune, from the switcher (a list of links), in the same tab.
    page.goto(f"{live_server.url}/o/{epci.slug}/")
    page.locator("details.spaces summary").click()
    with page.expect_navigation():
        page.locator(f"details.spaces a[href='/o/{commune.slug}/']").click()
    expect(page.locator("details.spaces summary")).to_contain_text("Commune de Dijon")
    response = page.goto(f"{live_server.url}/o/{commune.slug}/audit/")
    assert response.status == 200
    assert page.locator("h1").first.inner_text()
    check_accessibility(page)

    # A second tab acts for the EPCI meanwhile; the first still acts for the commune.
    second = page.context.new_page()
    second.goto(f"{live_server.url}/o/{epci.slug}/")
    expect(second.locator("details.spaces summary")).to_contain_text("Dijon Métropole")
    page.reload()
    expect(page.locator("details.spaces summary")).to_contain_text("Commune de Dijon")
    second.close()


def _membership_id(user, organisation) -> int:
    with scopes_disabled():
        return user.memberships.get(organisation=organisation).pk


def test_audit_page_lists_only_the_current_organisation_events(agent_of_two):
    _user, commune, epci = agent_of_two
    with scopes_disabled():
        assert AuditEvent.objects.filter(organisation=commune).count() == 1
        assert AuditEvent.objects.filter(organisation=epci).count() == 1
