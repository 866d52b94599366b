"""Names lose every invisible character before they are stored (``core.text``)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.core.text import clean_name


@pytest.mark.parametrize(
    "character",
    ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b"],
    ids=["nul", "bell", "escape", "delete", "c1-next-line", "c1-csi"],
)
def test_control_characters_are_removed(character):
    assert clean_name(f"Menuiserie{character}Dupont") in {"MenuiserieDupont", "Menuiserie Dupont"}
    assert character not in clean_name(f"Menuiserie {character}Dupont")


@pytest.mark.parametrize(
    "character",
    [
        "\u202a",  # left-to-right embedding
        "\u202b",  # right-to-left embedding
        "\u202c",  # pop directional formatting
        "\u202d",  # left-to-right override
        "\u202e",  # right-to-left override
        "\u2066",  # left-to-right isolate
        "\u2067",  # right-to-left isolate
        "\u2068",  # first strong isolate
        "\u2069",  # pop directional isolate
        "\u200e",  # left-to-right mark
        "\u200f",  # right-to-left mark
        "\u061c",  # Arabic letter mark
    ],
)
def test_bidirectional_controls_are_removed(character):
    assert clean_name(f"Mairie{character}lapicinuM") == "MairielapicinuM"


@pytest.mark.parametrize(
    "character",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"],
    ids=["zwsp", "zwnj", "zwj", "word-joiner", "bom", "soft-hyphen"],
)
def test_zero_width_characters_are_removed(character):
    assert clean_name(f"Dupont{character} SARL") == "Dupont SARL"


def test_line_breaks_and_tabs_separate_words():
    assert clean_name("Menuiserie\nDupont\tSARL\r\n") == "Menuiserie Dupont SARL"


def test_unicode_spaces_collapse_to_one_plain_space():
    assert clean_name("  Société\u00a0\u2003 Générale\u3000 ") == "Société Générale"


def test_the_name_is_nfc():
    decomposed = "Socie\u0301te\u0301"
    assert clean_name(decomposed) == "Société"
    # A zero-width character between a letter and its accent does not keep them apart.
    assert clean_name("Socie\u200b\u0301te\u0301") == "Société"


def test_private_use_and_unassigned_code_points_are_removed():
    assert clean_name("Dupont\ue000\U000e0001") == "Dupont"


def test_the_length_is_cut_after_cleaning():
    assert clean_name("\u202e" * 300 + "a" * 300, max_length=200) == "a" * 200
    assert clean_name("ab cd", max_length=3) == "ab"


def test_an_invisible_only_name_becomes_empty():
    assert clean_name("\u200b\u202e \t\x00") == ""
    assert clean_name(None) == ""


@given(st.text())
def test_no_invisible_character_survives(text):
    cleaned = clean_name(text)
    assert all(not unicodedata.category(ch).startswith("C") for ch in cleaned)
    assert cleaned == cleaned.strip()
    assert "  " not in cleaned
    assert unicodedata.is_normalized("NFC", cleaned)
    assert clean_name(cleaned) == cleaned
