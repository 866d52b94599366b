"""Browser tests: Playwright driving Debian's chromium against pytest-django's live server."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

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
    def do(page, email: str, password: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.locator("form[action$='/accounts/login/'] [type=submit]").first.click()

    return do
