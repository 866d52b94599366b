"""The CPV 2008 vocabulary: loaded whole, looked up, searched, and served to the picker."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mutualis.core import cpv
from mutualis.core.models import CpvCode

pytestmark = pytest.mark.django_db


def test_the_whole_vocabulary_is_loaded_with_its_check_digits():
    assert CpvCode.objects.filter(supplementary=False).count() == 9454
    assert CpvCode.objects.filter(supplementary=True).count() == 903
    assert CpvCode.objects.get(code="45000000").full_code == "45000000-7"


def test_a_code_is_read_with_or_without_its_check_digit():
    assert cpv.parse("45000000-7").label_fr == "Travaux de construction"
    assert cpv.parse(" 45000000 ").code == "45000000"


def test_a_wrong_check_digit_is_refused():
    with pytest.raises(ValidationError) as refused:
        cpv.parse("45000000-8")
    assert refused.value.code == "cpv_unknown"


def test_a_code_the_vocabulary_does_not_hold_is_refused_with_a_clear_message():
    with pytest.raises(ValidationError) as refused:
        cpv.parse("99999999-9")
    assert refused.value.code == "cpv_unknown"
    assert "not in the CPV 2008 vocabulary" in refused.value.message % refused.value.params


@pytest.mark.parametrize("text", ["4500000", "45000000-77", "travaux", "45 000 000"])
def test_what_is_not_written_as_a_code_is_refused_as_such(text):
    with pytest.raises(ValidationError) as refused:
        cpv.parse(text)
    assert refused.value.code == "cpv_format"


def test_a_supplementary_code_is_not_a_main_code():
    with pytest.raises(ValidationError):
        cpv.parse("AA01-1")
    assert cpv.parse("AA01-1", supplementary=True).label_en == "Metal"


def test_words_are_found_whatever_their_accents_and_case():
    found = {row.code for row in cpv.search("ELECTRICITE")}
    assert "09310000" in found  # Électricité
    assert found == {row.code for row in cpv.search("électricité")}


def test_digits_find_the_codes_they_start():
    codes = [row.code for row in cpv.search("4526")]
    assert codes
    assert all(code.startswith("4526") for code in codes)


def test_a_search_gives_a_bounded_list():
    assert len(cpv.search("services")) == cpv.MAX_RESULTS


def test_the_picker_endpoint_answers_anyone_in_json_and_lets_caches_keep_it(client):
    response = client.get(reverse("procurement_reference:cpv"), {"q": "toiture"})
    assert response.status_code == 200
    results = response.json()["results"]
    # French words are found; the label is in the request's language (English in tests).
    assert {"code": "31518300-3", "label": "Rooflights"} in results
    assert all(len(r["code"]) == 10 for r in results)
    assert "public" in response["Cache-Control"]


def test_the_picker_endpoint_waits_for_two_characters(client):
    response = client.get(reverse("procurement_reference:cpv"), {"q": "a"})
    assert response.json() == {"results": []}
