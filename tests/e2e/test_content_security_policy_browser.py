"""The Content-Security-Policy in Chromium: the watch every browser test carries notices
a page that breaks the policy, and the pages the other journeys do not visit hold."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_watch_notices_a_page_that_breaks_the_policy(page, live_server, watch_csp):
    """A test-only page with an inline script and a style attribute: the browser runs
    neither, and the watch (which fails any browser test) records both."""
    page.goto(f"{live_server.url}{reverse('plugged_public:inline')}")
    expect(page.locator("#styled")).to_be_visible()
    assert page.title() == "Inline"  # the inline script did not run
    assert page.locator("#styled").evaluate("e => getComputedStyle(e).color") != "rgb(255, 0, 0)"
    # Reported asynchronously: a round trip to the page lets the messages arrive.
    page.evaluate("() => new Promise(requestAnimationFrame)")
    found = "\n".join(watch_csp.violations)
    assert "script-src" in found
    assert "style-src" in found
    watch_csp.violations.clear()


def test_the_api_documentation_works_under_the_policy(page, live_server):
    """Swagger UI (django-ninja's bundled files) reads its settings from a JSON block and
    loads its scripts from the platform: it renders the operations, no violation."""
    page.goto(f"{live_server.url}{reverse('api:openapi-view')}")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.get_by_text("/api/v1/organisations").first).to_be_visible()
