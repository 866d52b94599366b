"""The pages every user is owed: legal notices, accessibility, help, prerequisites."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from mutualis.core import site_views

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("core:legal", "Mentions légales"),
        ("core:accessibility", "Déclaration d\u2019accessibilité"),
        ("core:help", "Assistance technique"),
        ("core:prerequisites", "Testez votre poste"),
    ],
)
def test_each_page_is_public_and_in_french(client, name, text):
    response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 200
    assert text in response.content.decode()


def test_every_page_links_to_the_statement_with_its_status(client, settings):
    settings.MUTUALIS_ACCESSIBILITY_STATUS = "partial"

    page = client.get(reverse("core:home"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert reverse("core:accessibility") in page
    assert "Accessibilité : partiellement conforme" in page


def test_the_legal_notices_name_the_operator_and_the_host(client, settings):
    settings.MUTUALIS_OPERATOR_NAME = "Syndicat mixte numérique de Bourgogne"
    settings.MUTUALIS_HOST_NAME = "Hébergeur public régional"
    settings.MUTUALIS_PUBLICATION_DIRECTOR = "Camille Martin"

    page = client.get(reverse("core:legal")).content.decode()

    assert "Syndicat mixte numérique de Bourgogne" in page
    assert "Hébergeur public régional" in page
    assert "Camille Martin" in page


def test_the_help_page_gives_the_support_channel(client, settings):
    settings.MUTUALIS_SUPPORT_EMAIL = "support@example.fr"
    settings.MUTUALIS_SUPPORT_PHONE = "+33 3 80 00 00 00"

    page = client.get(reverse("core:help")).content.decode()

    assert "mailto:support@example.fr" in page
    assert "tel:+33 3 80 00 00 00" in page


def test_the_statement_shows_the_recorded_axe_results(client, tmp_path, monkeypatch):
    results = {
        "date": "2026-12-06",
        "axe_version": "4.10.2",
        "pages": [
            {"path": "/", "title": "Accueil", "passes": 31, "violations": []},
            {"path": "/organisations/", "title": "Annuaire", "passes": 28, "violations": ["x"]},
        ],
    }
    recorded = tmp_path / "accessibility.json"
    recorded.write_text(json.dumps(results))
    monkeypatch.setattr(site_views, "ACCESSIBILITY_RESULTS", recorded)
    site_views.accessibility_results.cache_clear()
    try:
        page = client.get(reverse("core:accessibility"), HTTP_ACCEPT_LANGUAGE="fr")
    finally:
        site_views.accessibility_results.cache_clear()

    text = page.content.decode()
    assert "2 pages vérifiées" in text
    assert "1 violation relevée" in text
    assert "/organisations/" in text


def test_the_statement_without_results_says_so(client, tmp_path, monkeypatch):
    monkeypatch.setattr(site_views, "ACCESSIBILITY_RESULTS", tmp_path / "missing.json")
    site_views.accessibility_results.cache_clear()
    try:
        page = client.get(reverse("core:accessibility"), HTTP_ACCEPT_LANGUAGE="en")
    finally:
        site_views.accessibility_results.cache_clear()

    assert "No automatic check has been recorded" in page.content.decode()


def test_the_clock_gives_the_server_time_uncached(client):
    response = client.get(reverse("core:clock"))

    assert response.status_code == 200
    assert isinstance(response.json()["now_ms"], int)
    assert "no-store" in response["Cache-Control"]


def test_the_sample_has_the_size_asked_and_is_not_cached(client):
    response = client.get(reverse("core:sample", kwargs={"size": 1}))

    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert len(body) == 1024 * 1024 == int(response["Content-Length"])
    assert "no-store" in response["Cache-Control"]


def test_a_size_not_offered_is_not_found(client):
    assert client.get(reverse("core:sample", kwargs={"size": 1000})).status_code == 404


def test_test_downloads_are_limited_per_address(client, settings):
    settings.MUTUALIS_SAMPLE_RATE = "2/h"
    url = reverse("core:sample", kwargs={"size": 1})

    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
    assert int(client.get(url)["Retry-After"]) > 0


def test_posting_to_the_pages_is_refused(client):
    assert client.post(reverse("core:clock")).status_code in {403, 405}
