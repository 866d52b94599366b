"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import translation

from tests.factories.identity import PASSWORD
from tests.factories.mfa import totp_code

_axe = Axe()

# Chromium logs each violation of the Content-Security-Policy to the console ("Refused to
# apply inline style because it violates the following Content Security Policy directive…");
# the page's securitypolicyviolation event is reported too, in case a message changes.
# Playwright injects init scripts outside the page's policy, so this one always runs.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    "CSP violation: " + event.effectiveDirective + " blocked "
    + (event.blockedURI || "an inline resource") + " on " + event.documentURI
  );
});
"""


class CspWatch:
    """Collects every violation of the Content-Security-Policy in the browser contexts
    it watches; the ``watch_csp`` fixture fails the test on any."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def __call__(self, context):
        context.add_init_script(script=_REPORT_CSP_VIOLATIONS)
        context.on("console", self._on_console)
        return context

    def _on_console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or text.startswith("CSP violation"):
            self.violations.append(f"{message.location.get('url', '?')}: {text}")


@pytest.fixture
def watch_csp():
    """Fails the test when a page broke the Content-Security-Policy. Every page of the
    shared ``page`` fixture is watched; a test that opens another browser context passes
    it to ``watch_csp(context)``."""
    watch = CspWatch()
    yield watch
    assert not watch.violations, "Content-Security-Policy violations:\n" + "\n".join(
        watch.violations
    )


@pytest.fixture
def context(context, watch_csp):
    return watch_csp(context)


@pytest.fixture(autouse=True)
def _site_is_the_live_server(request, settings) -> None:
    """Links in e-mails start with MUTUALIS_SITE_URL: in a browser journey, the live
    server's address, so that the browser can follow them."""
    if "live_server" in request.fixturenames:
        settings.MUTUALIS_SITE_URL = request.getfixturevalue("live_server").url


def _record(page, response: dict) -> None:
    """With MUTUALIS_AXE_REPORT set (a file), append what axe-core found on the page, one
    JSON line; ``scripts/accessibility_report.py`` sums the lines up for the accessibility
    statement (``make accessibility``)."""
    report = os.environ.get("MUTUALIS_AXE_REPORT")
    if not report:
        return
    line = {
        "path": urlsplit(page.url).path,
        "title": page.title(),
        "axe_version": response.get("testEngine", {}).get("version", ""),
        "passes": len(response.get("passes", [])),
        "violations": sorted(v["id"] for v in response.get("violations", [])),
    }
    with open(report, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


@pytest.fixture
def check_accessibility():
    """Run axe-core on the current page and fail with its report on any violation."""

    def check(page) -> None:
        results = _axe.run(page)
        _record(page, results.response)
        assert results.violations_count == 0, results.generate_report()

    return check


@pytest.fixture
def log_in(live_server):
    """Log in with the password; given ``totp_secret``, answer allauth's code step too
    (shown when the account has a second factor) with the authenticator app's code.

    Without ``totp_secret`` the browser stays on the code step, for tests that go
    through it themselves. A person whose role requires a second factor must have one
    set up first (``tests.factories.mfa.give_authenticator_app``), or every page leads
    to its set-up.
    """

    def do(page, email: str, password: str, *, totp_secret: str | None = None) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.locator("form[action$='/accounts/login/'] [type=submit]").first.click()
        if totp_secret and urlsplit(page.url).path == reverse("mfa_authenticate"):
            page.fill("input[name=code]", totp_code(totp_secret))
            with page.expect_navigation():
                page.locator(
                    "form[action$='/accounts/2fa/authenticate/'] [type=submit]"
                ).first.click()

    return do


# --- French browser journeys of people whose roles require a second factor ------------


def t(message: str) -> str:
    """The page's text for ``message``, in the browser's language (French)."""
    with translation.override("fr"):
        return translation.gettext(message)


def give_authenticator_app(user) -> str:
    """Set up an authenticator app (TOTP) for ``user``, as its security page would; return
    the secret the app holds."""
    secret = pyotp.random_base32()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def log_in_with_app(log_in, check_accessibility, settings):
    """Log in with the password, then the authenticator app's code, which allauth asks
    for as soon as the account has one (a second factor is compulsory for these roles)."""
    # The code is computed a moment before the server checks it: accept the previous
    # period too, so that a login at the turn of a 30-second period does not fail.
    settings.MFA_TOTP_TOLERANCE = 1

    def do(page, email: str, secret: str) -> None:
        log_in(page, email, PASSWORD)
        assert urlsplit(page.url).path == "/accounts/2fa/authenticate/"
        check_accessibility(page)
        page.locator("input[name=code]").fill(totp_code(secret))
        with page.expect_navigation():
            page.locator("form[action$='/accounts/2fa/authenticate/'] [type=submit]").click()

    return do
