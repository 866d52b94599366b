"""Sign-up with e-mail verification, and an agent invited by an organisation's
administrator, in Chromium; axe-core checks every page of the journeys.

The e-mails are read from the outbox (``OutgoingEmail`` rows, newest first), as a person
would read their mailbox.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.core.models import OutgoingEmail
from mutualis.identity import invitations
from mutualis.identity import services as identity
from mutualis.identity.models import Invitation, Membership, User
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.mfa import give_authenticator_app, totp_code
from tests.mailbox import delivered_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a long and unusual passphrase 42"
SECRET = "KRSXG5CTMVRXEZLUKN2XAZLSNFXGSZLT"


def newest_link(email: str, pattern: str) -> str:
    """The first URL matching ``pattern`` in the newest e-mail to ``email``."""
    mail = OutgoingEmail.objects.filter(to=email).order_by("-created_at", "-pk").first()
    assert mail is not None, f"no e-mail to {email}"
    text = delivered_text(mail)  # the stored copy keeps no single-use link
    match = re.search(r"https?://[^\s\"<>]*" + pattern + r"[^\s\"<>]*", text)
    assert match, text
    return match.group(0)


def submit(page, form_selector: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form_selector} [type=submit]").first.click()


def log_in(page, base_url: str, email: str, password: str, secret: str | None = None) -> None:
    """Log in from the login page; answers the authenticator-app step when there is one."""
    if "/accounts/login/" not in page.url:
        page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    submit(page, "form[action*='/accounts/login/']")
    if "/2fa/authenticate/" in page.url:
        assert secret, "this account has a second factor"
        page.fill("input[name=code]", totp_code(secret))
        submit(page, "form[action*='/2fa/authenticate/']")


def log_out(page) -> None:
    submit(page, "form[action$='/accounts/logout/']")


def signed_in(page) -> bool:
    return page.locator("form[action$='/accounts/logout/']").count() > 0


def test_a_citizen_signs_up_verifies_the_address_and_logs_in(
    page, live_server, check_accessibility
):
    base = live_server.url
    page.goto(f"{base}/accounts/signup/")
    check_accessibility(page)
    page.fill("input[name=email]", "dominique.citoyen@example.org")
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    submit(page, "form[action$='/accounts/signup/']")
    # Verification is mandatory: the person is told to read their mailbox.
    assert "/accounts/confirm-email/" in page.url
    assert not signed_in(page)
    check_accessibility(page)

    page.goto(newest_link("dominique.citoyen@example.org", "/accounts/confirm-email/"))
    check_accessibility(page)
    submit(page, "main form[action*='/accounts/confirm-email/']")
    assert "/accounts/login/" in page.url
    check_accessibility(page)

    log_in(page, base, "dominique.citoyen@example.org", NEW_PASSWORD)
    assert signed_in(page)
    assert "/accounts/" not in page.url
    check_accessibility(page)


@pytest.fixture
def two_organisations(transactional_db):
    """Auxonne's administrator (with an authenticator app, as the role requires), and
    the communauté de communes the invited person already works for."""
    auxonne = OrganisationFactory(name="Auxonne", adhesion_status="member")
    ccao = OrganisationFactory(
        name="Communauté de communes Auxonne Pontailler", kind="epci_cc", adhesion_status="member"
    )
    admin = identity.ensure_user(
        email="alix.admin@example.org", password=PASSWORD, first_name="Alix", last_name="Moreau"
    )
    identity.grant_membership(actor=None, user=admin, organisation=auxonne, roles=["org_admin"])
    give_authenticator_app(admin, SECRET)
    return auxonne, ccao, admin


def test_an_administrator_invites_a_newcomer_who_signs_up_accepts_and_switches(
    page, browser, browser_context_args, live_server, check_accessibility, two_organisations
):
    auxonne, ccao, admin = two_organisations
    base = live_server.url
    invitee = "sacha.agent@example.org"

    # The administrator of Auxonne invites a secretary.
    log_in(page, base, admin.email, PASSWORD, SECRET)
    assert signed_in(page)
    with page.expect_navigation():
        page.locator("nav.site-nav a[href$='/members/']").click()
    check_accessibility(page)
    with page.expect_navigation():
        page.locator("main a[href$='/members/invite/']").click()
    check_accessibility(page)
    page.fill("input[name=email]", invitee)
    page.locator("input[name=roles][value=secretary]").check()
    submit(page, "main form[method=post]")
    assert page.url.endswith(f"/o/{auxonne.slug}/members/")
    expect(page.locator("main")).to_contain_text(invitee)
    check_accessibility(page)

    # The invited person, in their own browser, opens the link and signs up.
    context = browser.new_context(**browser_context_args)
    agent = context.new_page()
    agent.goto(newest_link(invitee, "/invitations/"))
    expect(agent.locator("main")).to_contain_text("Auxonne")
    check_accessibility(agent)
    with agent.expect_navigation():
        agent.locator("main a[href*='/accounts/signup/']").click()
    assert agent.locator("input[name=email]").input_value() == invitee
    check_accessibility(agent)
    agent.fill("input[name=password1]", NEW_PASSWORD)
    agent.fill("input[name=password2]", NEW_PASSWORD)
    submit(agent, "form[action*='/accounts/signup/']")
    check_accessibility(agent)

    agent.goto(newest_link(invitee, "/accounts/confirm-email/"))
    submit(agent, "main form[action*='/accounts/confirm-email/']")
    # Meanwhile the communauté de communes has made the person one of its agents.
    person = User.objects.get(email=invitee)
    identity.grant_membership(actor=None, user=person, organisation=ccao, roles=["secretary"])

    # Logging in leads back to the invitation, which the person accepts.
    log_in(agent, base, invitee, NEW_PASSWORD)
    assert "/invitations/" in agent.url
    check_accessibility(agent)
    submit(agent, "main form[method=post]")
    # The person is taken into Auxonne's space, at its own address.
    assert agent.url.endswith(f"/o/{auxonne.slug}/")
    spaces = agent.locator("details.spaces")
    expect(spaces.locator("summary")).to_contain_text("Auxonne")
    expect(agent.locator(".messages")).to_contain_text("Auxonne")
    check_accessibility(agent)

    # Then goes to the communauté de communes from the switcher (a link), and back.
    spaces.locator("summary").click()
    with agent.expect_navigation():
        spaces.locator(f"a[href='/o/{ccao.slug}/']").click()
    expect(agent.locator("details.spaces summary")).to_contain_text(ccao.name)
    check_accessibility(agent)
    agent.locator("details.spaces summary").click()
    with agent.expect_navigation():
        agent.locator(f"details.spaces a[href='/o/{auxonne.slug}/']").click()
    expect(agent.locator("details.spaces summary")).to_contain_text("Auxonne")
    context.close()

    # The administrator sees the new member in the list.
    page.reload()
    expect(page.locator("main table").first).to_contain_text(invitee)
    check_accessibility(page)


def test_an_expired_link_shows_a_clear_message(page, live_server, check_accessibility):
    auxonne = OrganisationFactory(name="Auxonne", adhesion_status="member")
    admin = identity.ensure_user(email="alix.admin@example.org", password=PASSWORD)
    membership = identity.grant_membership(
        actor=None, user=admin, organisation=auxonne, roles=["org_admin"]
    )
    invitation = invitations.send_invitation(
        actor=membership,
        email="late@example.org",
        roles=["secretary"],
        site_url=live_server.url,
    )
    with scopes_disabled():
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )

    response = page.goto(newest_link("late@example.org", "/invitations/"))
    assert response.status == 410
    expect(page.locator("main [role=alert]")).to_have_attribute("data-code", "invitation_expired")
    check_accessibility(page)


def _membership_id(user, organisation) -> int:
    with scopes_disabled():
        return Membership.objects.get(user=user, organisation=organisation).pk
