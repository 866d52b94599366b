"""Entry names of a streamed archive: safe on every system, distinct, in order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.core.files import errors, unique_names
from mutualis.core.files.archives import is_unsafe_name


def test_duplicates_get_a_number_before_their_extension():
    assert unique_names(["CCAP.pdf", "CCAP.pdf", "ccap.PDF", "Notes", "notes"]) == [
        "CCAP.pdf",
        "CCAP (2).pdf",
        "ccap (3).PDF",
        "Notes",
        "notes (2)",
    ]


def test_folders_are_kept_and_their_parts_cleaned():
    assert unique_names(["Lot 1/CCTP.pdf", " ./Lot 2/../CCTP.pdf", "a\\b:c?.pdf"]) == [
        "Lot 1/CCTP.pdf",
        "Lot 2/CCTP.pdf",
        "a/b_c_.pdf",
    ]


def test_windows_device_names_are_renamed():
    assert unique_names(["CON.pdf", "Lot 1/nul", "aux.tar.gz", "CONSIGNES.pdf"]) == [
        "_CON.pdf",
        "Lot 1/_nul",
        "_aux.tar.gz",
        "CONSIGNES.pdf",
    ]


def test_a_path_with_nothing_left_is_refused():
    with pytest.raises(errors.FileNameRequired):
        unique_names(["../.."])


@given(st.lists(st.text(min_size=1, max_size=40), max_size=12))
def test_every_name_is_safe_and_distinct_whatever_was_given(paths):
    try:
        names = unique_names(paths)
    except errors.FileNameRequired:
        return
    assert len(names) == len(paths)
    assert len({name.casefold() for name in names}) == len(names)
    # What the platform writes, its own archive inspection would accept.
    assert not any(is_unsafe_name(name) for name in names)
