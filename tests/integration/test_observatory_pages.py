"""The observatory's public pages and CSV: charts' data, accessible tables, filters."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from mutualis.observatory import exports
from mutualis.observatory import refresh as observatory_refresh
from mutualis.observatory.selectors import Row
from tests.factories.observatory import build_territory

pytestmark = pytest.mark.django_db


@pytest.fixture
def territory() -> dict[str, Any]:
    return build_territory()


def charts_of(html: str) -> list[dict]:
    found = re.search(
        r'<script id="observatory-charts" type="application/json">(.*?)</script>', html, re.S
    )
    assert found is not None
    return json.loads(found.group(1))


def test_the_territory_page_shows_charts_data_tables_and_the_refresh_date(client, territory):
    observatory_refresh.refresh_figures()

    response = client.get(reverse("observatory:territory"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Figures as of" in html
    charts = {chart["id"]: chart for chart in charts_of(html)}
    assert charts["chart-years"]["labels"] == ["2025", "2026"]
    assert charts["chart-years"]["datasets"][0]["data"] == [345000.0, 0.0]
    assert charts["chart-categories"]["datasets"][0]["data"] == [4, 2, 1]
    # Each chart has its table with a caption and scoped headers, and the same figures.
    for key in ("years", "categories", "procedures", "cpv"):
        assert f'id="table-{key}"' in html
        assert f'id="chart-{key}"' in html
        assert f"/observatoire/{key}.csv" in html
    assert html.count("<caption id=") == 4
    assert '<th scope="row">Works</th>' in html
    assert '<th scope="col">Procedures</th>' in html
    assert "<script>" not in html  # the Content-Security-Policy allows no inline script
    assert "vendor/chartjs/chart.umd" in html
    # Kept ten minutes by the browser (the page holds the language form's CSRF token).
    assert "private" in response["Cache-Control"]
    assert "max-age=600" in response["Cache-Control"]


def test_an_unchanged_page_answers_not_modified(client, territory):
    observatory_refresh.refresh_figures()
    first = client.get(reverse("observatory:territory"))

    again = client.get(reverse("observatory:territory"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    # A new refresh is a new page.
    observatory_refresh.refresh_figures()
    after = client.get(reverse("observatory:territory"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert after.status_code == 200


def test_a_member_page_shows_its_own_figures_for_the_year_chosen(client, territory):
    observatory_refresh.refresh_figures()

    response = client.get(reverse("observatory:member", args=["commune-b"]), {"year": "2025"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Commune B" in html
    charts = {chart["id"]: chart for chart in charts_of(html)}
    assert charts["chart-categories"]["labels"] == ["Works"]
    assert charts["chart-categories"]["datasets"][0]["data"] == [1]
    assert "/observatoire/commune-b/cpv.csv?year=2025" in html


def test_an_unknown_member_is_not_found(client, territory):
    observatory_refresh.refresh_figures()
    assert client.get(reverse("observatory:member", args=["nowhere"])).status_code == 404


@pytest.mark.parametrize(
    ("year", "status", "message"),
    [
        ("1999", 404, "There are no figures for 1999"),
        ("20x5", 400, "Write the year with four digits"),
        # The platform's edge refuses a NUL byte before any view (core.edge).
        ("2025\x00", 400, "Check what you typed or pasted"),
        ("9" * 1000, 400, "Write the year with four digits"),
        ("٢٠٢٥", 400, "Write the year with four digits"),
    ],
)
def test_a_bad_year_gets_a_clear_answer(client, territory, year, status, message):
    observatory_refresh.refresh_figures()

    response = client.get(reverse("observatory:territory"), {"year": year})

    assert response.status_code == status
    assert message in response.content.decode()
    assert "max-age" not in response.get("Cache-Control", "")


def test_before_the_first_refresh_the_page_says_so(client, territory):
    response = client.get(reverse("observatory:territory"))

    assert response.status_code == 200
    assert "have not been computed yet" in response.content.decode()
    assert client.get(reverse("observatory:territory_csv", args=["years"])).status_code == 404


def test_each_table_downloads_as_csv(client, territory):
    observatory_refresh.refresh_figures()

    response = client.get(reverse("observatory:member_csv", args=["commune-a", "years"]))

    assert response.status_code == 200
    assert response.streaming
    assert "public" in response["Cache-Control"]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="observatoire-commune-a-years.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Year,Procedures,Awarded procedures,")
    assert lines[1].startswith("2025,4,3,285000.00,30000.00,")
    assert lines[2].startswith("2026,2,0,0.00,40000.00,")


def test_a_csv_of_a_year_and_bad_requests(client, territory):
    observatory_refresh.refresh_figures()
    url = reverse("observatory:territory_csv", args=["categories"])

    response = client.get(url, {"year": "2026"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8")
    assert "Supplies,1,0," in text
    refused = client.get(url, {"year": "20x5"})
    assert refused.status_code == 400
    assert "Write the year with four digits" in refused.content.decode()
    assert client.get(url, {"year": "2025\x00"}).status_code == 400
    assert client.get(url, {"year": "1999"}).status_code == 404
    assert client.get(reverse("observatory:territory_csv", args=["other"])).status_code == 404


def test_csv_text_cells_are_guarded_against_formulas():
    row = Row(
        key="x", label="=HYPERLINK(\"http://evil.example\")", procedures=1, awarded=0,
        amount_awarded=Decimal(0), amount_estimated=Decimal(0), wins=0, wins_sized=0,
        wins_sme=0, wins_located=0, wins_local=0, responses_known=0, responses_average=None,
        delays_known=0, delay_median=None, delay_mean=None,
    )  # fmt: skip

    text = "".join(exports.stream("cpv", [row]))

    assert "'=HYPERLINK" in text
    assert '\n"=' not in text
    assert "\n=" not in text
