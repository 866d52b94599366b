"""An organisation administrator without a second factor is led to set one up at login:
an authenticator app (TOTP) in one journey, a passkey (Chromium's virtual authenticator)
in the other; axe-core checks each page of the way."""

from __future__ import annotations

from urllib.parse import urlsplit

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse
from playwright.sync_api import expect

from mutualis.identity import services as identity
from tests.factories.core import OrganisationFactory
from tests.factories.identity import PASSWORD
from tests.factories.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "camille@example.org"


@pytest.fixture
def browser_context_args(browser_context_args):
    # English pages, so that the assertions read allauth's own English messages.
    return {**browser_context_args, "locale": "en-GB"}


@pytest.fixture
def admin(transactional_db):
    """An organisation administrator (a role that requires a second factor) who has none
    yet; the address is verified, as allauth requires before adding an authenticator."""
    commune = OrganisationFactory(name="Commune de Semur", kind="commune", slug=SLUG)
    user = identity.ensure_user(
        email=EMAIL, password=PASSWORD, first_name="Camille", last_name="Bernard"
    )
    identity.grant_membership(actor=None, user=user, organisation=commune, roles=["org_admin"])
    return user


SLUG = "semur"
# The commune's pages, at its own address; its only agent lands in its space.
AUDIT = f"/o/{SLUG}/audit/"
SPACE = f"/o/{SLUG}/"


def path_of(page) -> str:
    return urlsplit(page.url).path


def submit(page, form_selector: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form_selector} [type=submit]").first.click()


def password_login(page, live_server) -> None:
    page.goto(f"{live_server.url}{reverse('account_login')}")
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    submit(page, "form[action$='/accounts/login/']")


def reauthenticate(page, check_accessibility) -> None:
    """allauth asks for the password again before adding an authenticator."""
    assert path_of(page) == reverse("account_reauthenticate")
    check_accessibility(page)
    page.fill("input[name=password]", PASSWORD)
    submit(page, "main form")


def log_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()


def test_an_admin_sets_up_an_authenticator_app_then_logs_in_with_it(
    page, live_server, check_accessibility, admin
):
    # --- The password alone leads to the explanation, whatever page is asked for.
    password_login(page, live_server)
    assert path_of(page) == reverse("identity:mfa_required")
    expect(page.locator("h1")).to_have_text("Set up a second factor to continue")
    expect(page.locator("main")).to_contain_text("Commune de Semur")
    check_accessibility(page)
    page.goto(f"{live_server.url}{AUDIT}")
    assert path_of(page) == reverse("identity:mfa_required")

    # --- The authenticator app: password again, then the secret and a code from it.
    with page.expect_navigation():
        page.get_by_role("button", name="Set up an authenticator app").click()
    reauthenticate(page, check_accessibility)
    assert path_of(page) == reverse("mfa_activate_totp")
    check_accessibility(page)
    secret = page.locator("#authenticator_secret").input_value()
    assert len(secret) == 32
    page.fill("input[name=code]", totp_code(secret))
    submit(page, "form[action$='/accounts/2fa/totp/activate/']")
    # allauth then shows the recovery codes it made alongside.
    assert path_of(page) == reverse("mfa_view_recovery_codes")
    check_accessibility(page)
    assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()

    # --- Every page is open now.
    page.goto(f"{live_server.url}{AUDIT}")
    assert path_of(page) == AUDIT
    log_out(page)

    # --- Next login: password, then the code; a wrong code first gets allauth's error.
    password_login(page, live_server)
    assert path_of(page) == reverse("mfa_authenticate")
    check_accessibility(page)
    wrong = pyotp.TOTP(pyotp.random_base32()).now()
    page.fill("input[name=code]", wrong if wrong != totp_code(secret) else "000000")
    submit(page, "form[action$='/accounts/2fa/authenticate/']")
    assert path_of(page) == reverse("mfa_authenticate")
    expect(page.locator("main")).to_contain_text("Incorrect code.")
    check_accessibility(page)
    page.fill("input[name=code]", totp_code(secret))
    submit(page, "form[action$='/accounts/2fa/authenticate/']")
    assert path_of(page) == SPACE
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    check_accessibility(page)


@pytest.fixture
def virtual_authenticator(page):
    """A platform authenticator (like a laptop's fingerprint reader) that always says yes,
    through Chromium's DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def test_an_admin_adds_a_passkey_then_logs_in_with_it_alone(
    page, live_server, check_accessibility, admin, virtual_authenticator
):
    cdp, authenticator_id = virtual_authenticator
    password_login(page, live_server)
    assert path_of(page) == reverse("identity:mfa_required")

    # --- The passkey: password again, then the browser's authenticator.
    with page.expect_navigation():
        page.get_by_role("button", name="Add a security key or passkey").click()
    reauthenticate(page, check_accessibility)
    assert path_of(page) == reverse("mfa_add_webauthn")
    check_accessibility(page)
    page.fill("input[name=name]", "Portable")
    # A passkey (discoverable, verified): it can open the account without the password.
    page.get_by_label("Passwordless").check()
    with page.expect_navigation():
        page.locator("#mfa_webauthn_add").click()
    assert path_of(page) == reverse("mfa_view_recovery_codes")
    check_accessibility(page)
    key = Authenticator.objects.get(user=admin, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Portable"
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(credentials["credentials"]) == 1
    assert credentials["credentials"][0]["isResidentCredential"]

    page.goto(f"{live_server.url}{AUDIT}")
    assert path_of(page) == AUDIT
    log_out(page)

    # --- The passkey alone opens the account: no password, no code.
    page.goto(f"{live_server.url}{reverse('account_login')}")
    check_accessibility(page)
    with page.expect_navigation():
        page.locator("#passkey_login").click()
    assert path_of(page) == SPACE
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(f"{live_server.url}{AUDIT}")
    assert path_of(page) == AUDIT
    check_accessibility(page)
