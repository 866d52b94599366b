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


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"q": "toiture"},
        {"q": 'éclairage "public" <b>&amp;'},
        {"buyer": ["dijon", "beaune"], "cpv": "452"},
        {"sort": "deadline", "state": "open"},
        {"sort": "relevance", "state": "closed", "category": ["works", "services"]},
        {"procedure": ["open"], "deadline_after": "2026-01-01", "deadline_before": "2026-02-01"},
        {"departement": ["21", "2A"]},
    ],
)
def test_a_field_kept_or_filled_renders_as_its_widget_template(data):
    """Each field as the tag renders it (kept, or its kept empty markup with the value
    put in) is the markup of Django's widget templates, rendered afresh."""
    from django.template.loader import render_to_string
    from django.utils.datastructures import MultiValueDict

    from mutualis.procurement.public_views import departement_choices
    from mutualis.procurement.search import SearchForm
    from mutualis.procurement.templatetags import procurement

    filled = MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in data.items()})
    # Rendered filled before and after the empty form was (whose markup is kept).
    for query in (filled, MultiValueDict(), filled):
        form = SearchForm(query, departement_choices=departement_choices())
        for field in form:
            expected = render_to_string("procurement/_search_field.html", {"field": field})
            assert str(procurement.search_field(field)) == expected, field.name
    procurement._EMPTY_FIELDS.clear()
