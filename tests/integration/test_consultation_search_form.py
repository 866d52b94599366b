"""The portal's search form renders its empty fields once per process
(``templatetags.procurement.search_field``): what a visitor chose or typed, and the
errors, are rendered afresh on every page, never taken from an earlier visitor's."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

LIST = "/consultations/"


def test_a_choice_is_shown_after_an_empty_form_was_rendered(client):
    empty = client.get(LIST).content.decode()
    assert 'value="works" checked' not in empty
    chosen = client.get(LIST, {"category": "works", "q": "toiture"}).content.decode()
    assert 'value="works"' in chosen
    assert 'name="category" value="works" id="id_category_0" checked' in chosen
    assert 'value="toiture"' in chosen
    again = client.get(LIST).content.decode()
    assert "checked" not in again.split('name="category"', 1)[1].split("</fieldset>", 1)[0]


def test_errors_are_rendered_afresh(client):
    client.get(LIST)
    refused = client.get(LIST, {"cpv": "abc"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "is not a CPV code" in html
    assert 'id="id_cpv_error"' in html
    assert 'id="id_cpv_error"' not in client.get(LIST).content.decode()
