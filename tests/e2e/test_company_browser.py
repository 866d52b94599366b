"""A business representative registers a company by SIRET and invites a colleague, who
signs up and accepts the link; operator staff then verify the company. In Chromium,
with axe-core on every page.

E-mails are read from the outbox (``OutgoingEmail`` rows), as a person reads a mailbox.
"""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from mutualis.companies import services
from mutualis.companies.models import Company, Representative
from mutualis.core.models import OutgoingEmail
from mutualis.identity import services as identity
from tests.factories.companies import company_siren, valid_siret
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.mfa import totp_code
from tests.mailbox import delivered_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a long and unusual passphrase 42"
# A known authenticator-app secret for the operator's staff, whose role requires one.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


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


def follow(page, link_selector: str) -> None:
    with page.expect_navigation():
        page.locator(link_selector).first.click()


def log_in_here(page, email: str, password: str) -> None:
    """Fill the login page the browser is on."""
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    submit(page, "form[action*='/accounts/login/']")


def test_a_representative_registers_by_siret_and_a_colleague_joins(
    page, browser, browser_context_args, live_server, check_accessibility, watch_csp
):
    base = live_server.url
    alice = identity.ensure_user(
        email="alice@menuiserie.example", password=PASSWORD, first_name="Alice"
    )
    siren = company_siren(1)
    colleague = "bob@menuiserie.example"

    # A visitor opens the business sign-up, is asked to log in, and comes back.
    page.goto(f"{base}/companies/signup/")
    check_accessibility(page)
    follow(page, "main a[href*='/accounts/login/']")
    log_in_here(page, alice.email, PASSWORD)
    assert page.url.endswith("/companies/signup/")
    check_accessibility(page)

    # A SIRET with a wrong check digit is refused on its field; nothing is written.
    page.fill("input[name=siret]", "732 829 320 00075")
    page.fill("input[name=name]", "Menuiserie Dupont")
    submit(page, "main form[method=post]")
    expect(page.locator("main [role=alert]")).to_be_visible()
    assert page.locator("input[name=siret][aria-invalid=true]").count() == 1
    check_accessibility(page)
    assert not Company.objects.exists()

    siret = valid_siret(siren, 17)
    page.fill("input[name=siret]", siret)
    submit(page, "main form[method=post]")
    assert re.search(r"/c/[0-9]{9}/$", page.url)
    expect(page.locator("main h1")).to_contain_text("Menuiserie Dupont")
    expect(page.locator("main")).to_contain_text(siret)
    expect(page.locator("main .company-status-unverified")).to_be_visible()
    check_accessibility(page)

    # The administrator invites a colleague.
    follow(page, "nav a[href$='/colleagues/']")
    check_accessibility(page)
    page.fill("input[name=email]", colleague)
    page.locator("select[name=role]").first.select_option("member")
    submit(page, "main form[method=post]:has(input[name=email])")
    expect(page.locator(".messages")).to_contain_text(colleague)
    expect(page.locator("main")).to_contain_text(colleague)
    check_accessibility(page)

    # The colleague, in their own browser, opens the link and signs up.
    context = watch_csp(browser.new_context(**browser_context_args))
    bob = context.new_page()
    link = newest_link(colleague, "/companies/invitations/")
    bob.goto(link)
    expect(bob.locator("main")).to_contain_text("Menuiserie Dupont")
    check_accessibility(bob)
    follow(bob, "main a[href*='/accounts/signup/']")
    assert bob.locator("input[name=email]").input_value() == colleague
    bob.fill("input[name=password1]", NEW_PASSWORD)
    bob.fill("input[name=password2]", NEW_PASSWORD)
    submit(bob, "form[action*='/accounts/signup/']")
    check_accessibility(bob)
    bob.goto(newest_link(colleague, "/accounts/confirm-email/"))
    submit(bob, "main form[action*='/accounts/confirm-email/']")
    assert "/accounts/login/" in bob.url
    log_in_here(bob, colleague, NEW_PASSWORD)

    # Back on the link, signed in with the invited address: the colleague accepts.
    bob.goto(link)
    check_accessibility(bob)
    submit(bob, "main form[method=post]")
    assert re.search(r"/c/[0-9]{9}/$", bob.url)
    expect(bob.locator(".messages")).to_contain_text("Menuiserie Dupont")
    expect(bob.locator("details.spaces summary")).to_contain_text("Menuiserie Dupont")
    check_accessibility(bob)

    # The link is good once.
    bob.goto(link)
    expect(bob.locator("main [role=alert]")).to_be_visible()
    check_accessibility(bob)
    context.close()

    with scopes_disabled():
        roles = dict(
            Representative.objects.filter(company__siren=siren).values_list("user__email", "role")
        )
    assert roles == {alice.email: "admin", colleague: "member"}

    # The administrator sees the colleague among the representatives.
    page.reload()
    expect(page.locator("main table").first).to_contain_text(colleague)
    check_accessibility(page)


def test_operator_staff_verify_a_business(page, live_server, check_accessibility):
    base = live_server.url
    operator = OrganisationFactory(name="Opérateur", kind="operator", siren="")
    staff = identity.ensure_user(email="staff@operateur.example", password=PASSWORD)
    identity.grant_membership(actor=None, user=staff, organisation=operator, roles=["org_admin"])
    TOTP.activate(staff, STAFF_TOTP_SECRET)
    owner = identity.ensure_user(email="owner@plomberie.example", password=PASSWORD)
    services.sign_up_with_siret(
        user=owner, siret=valid_siret(company_siren(2)), name="Plomberie Y", site_url=base
    )

    page.goto(f"{base}/accounts/login/")
    log_in_here(page, staff.email, PASSWORD)
    if "/2fa/authenticate/" in page.url:
        page.fill("input[name=code]", totp_code(STAFF_TOTP_SECRET))
        submit(page, "form[action*='/2fa/authenticate/']")
    page.goto(f"{base}/operator/companies/?status=unverified")
    expect(page.locator("main table")).to_contain_text("Plomberie Y")
    check_accessibility(page)

    follow(page, "main table a:has-text('Plomberie Y')")
    check_accessibility(page)
    submit(page, "form[action$='/verify/']")
    expect(page.locator("main .company-status-verified")).to_be_visible()
    check_accessibility(page)
    assert Company.objects.get(name="Plomberie Y").status == "verified"
