"""An agent of two organisations logs in and switches the organisation they act for."""

import pytest
from django_scopes import scopes_disabled

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


def test_login_switch_organisation_and_audit_page(
    page, live_server, log_in, check_accessibility, agent_of_two
):
    user, commune, epci = agent_of_two
    page.goto(f"{live_server.url}/accounts/login/")
    check_accessibility(page)

    log_in(page, user.email, PASSWORD, totp_secret=TOTP_SECRET)
    switcher = page.locator("select[name=membership]")
    assert switcher.count() == 1
    # Memberships are ordered by organisation name: the commune comes first.
    assert switcher.input_value() == str(_membership_id(user, commune))
    check_accessibility(page)

    switcher.select_option(str(_membership_id(user, epci)))
    with page.expect_navigation():
        page.locator("form[action$='/switch-organisation/'] [type=submit]").click()
    assert page.locator("select[name=membership]").input_value() == str(_membership_id(user, epci))
    assert "Dijon Métropole" in page.locator("[role=status], .messages, main").first.inner_text()
    check_accessibility(page)

    # Acting for the EPCI as a buyer only: the commune's audit page is out of reach.
    response = page.goto(f"{live_server.url}/my-organisation/audit/")
    assert response.status == 403

    switcher = page.locator("select[name=membership]")
    switcher.select_option(str(_membership_id(user, commune)))
    with page.expect_navigation():
        page.locator("form[action$='/switch-organisation/'] [type=submit]").click()
    response = page.goto(f"{live_server.url}/my-organisation/audit/")
    assert response.status == 200
    assert page.locator("h1").first.inner_text()
    check_accessibility(page)


def _membership_id(user, organisation) -> int:
    with scopes_disabled():
        return user.memberships.get(organisation=organisation).pk


def test_audit_page_lists_only_the_current_organisation_events(agent_of_two):
    _user, commune, epci = agent_of_two
    with scopes_disabled():
        assert AuditEvent.objects.filter(organisation=commune).count() == 1
        assert AuditEvent.objects.filter(organisation=epci).count() == 1
