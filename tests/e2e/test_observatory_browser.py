"""A visitor reads the territory's observatory in Chromium: the charts draw under the
Content-Security-Policy (the ``watch_csp`` fixture fails on a violation), the tables are
there, and axe-core finds no violation (WCAG 2.1 AA)."""

from __future__ import annotations

import pytest

from mutualis.observatory.refresh import refresh_figures
from tests.factories.observatory import build_territory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR"}


def test_the_territory_observatory_draws_its_charts_beside_its_tables(
    page, live_server, check_accessibility
):
    build_territory()
    refresh_figures()

    page.goto(f"{live_server.url}/observatoire/")

    for key in ("years", "shares", "categories", "procedures", "cpv"):
        page.wait_for_function(
            "id => window.Chart && window.Chart.getChart(document.getElementById(id))",
            arg=f"chart-{key}",
        )
    assert page.locator("table#table-categories caption").count() == 1
    assert page.locator("table#table-years tbody tr").count() == 2
    check_accessibility(page)
