"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from tests.factories.mfa import totp_code

_axe = Axe()


@pytest.fixture
def check_accessibility():
    """Run axe-core on the current page and fail with its report on any violation."""

    def check(page) -> None:
        results = _axe.run(page)
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
