"""The platform speaks French by default, and English on request."""

import pytest
from django.test import Client


@pytest.mark.django_db
def test_pages_are_in_french_without_a_language_preference(settings):
    settings.LANGUAGE_CODE = "fr"
    response = Client().get("/organisations/")
    assert response.status_code == 200
    assert response["Content-Language"] == "fr"
    page = response.content.decode()
    assert '<html lang="fr"' in page
    assert "Annuaire" in page


@pytest.mark.django_db
def test_an_english_browser_gets_english(settings):
    settings.LANGUAGE_CODE = "fr"
    response = Client(headers={"accept-language": "en"}).get("/organisations/")
    assert response["Content-Language"] == "en"
    assert "Directory" in response.content.decode()


@pytest.mark.django_db
def test_the_language_switch_sets_english_for_the_session(settings):
    settings.LANGUAGE_CODE = "fr"
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert client.get("/organisations/")["Content-Language"] == "en"
