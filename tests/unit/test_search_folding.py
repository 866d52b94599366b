"""Folding text for search: one function for both databases (``core.search``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.core.search import MAX_WORDS, fold, looks_like_code, query_words


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Côte-d'Or", "cote d or"),
        ("cote d or", "cote d or"),
        ("CÔTE D\u2019OR", "cote d or"),
        ("Saint-Apollinaire", "saint apollinaire"),
        ("St Apollinaire", "saint apollinaire"),
        ("ST-APOLLINAIRE", "saint apollinaire"),
        ("Ste-Marie", "sainte marie"),
        ("Œuilly", "oeuilly"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("  Mâcon\t", "macon"),
        ("a\x00b", "a b"),
        ("jean.dupont@ville-dijon.fr", "jean dupont ville dijon fr"),
        ("Strasbourg", "strasbourg"),
        ("—", ""),
    ],
)
def test_fold_drops_accents_case_and_punctuation(text, folded):
    assert fold(text) == folded


@given(st.text())
def test_folding_twice_changes_nothing(text):
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_folded_text_has_no_capitals_nul_or_double_space(text):
    folded = fold(text)
    assert "\x00" not in folded
    assert "  " not in folded
    assert folded == folded.strip()
    assert folded == folded.casefold()


def test_query_words_keep_what_was_typed_and_its_folding():
    assert query_words("Côte-d'Or  ST apollinaire - ") == [
        ("Côte-d'Or", "cote d or"),
        ("ST", "saint"),
        ("apollinaire", "apollinaire"),
    ]


def test_query_words_are_capped():
    assert len(query_words("a " * 100)) == MAX_WORDS
    assert query_words("x" * 10_000) == [("x" * 200, "x" * 200)]


@pytest.mark.parametrize(
    ("word", "is_code"),
    [("21231", True), ("2A004", True), ("212102313", True), ("Dijon", False), ("2½", False)],
)
def test_codes_are_ascii_letters_and_digits(word, is_code):
    assert looks_like_code(word) is is_code
