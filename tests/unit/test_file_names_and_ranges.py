"""The file store's pure rules: name sanitising, Range parsing, Content-Disposition."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.core.files import errors, sanitise_name
from mutualis.core.files.download import RangeNotSatisfiable, byte_range, content_disposition
from mutualis.core.files.names import MAX_NAME_LENGTH


@pytest.mark.parametrize(
    ("given_name", "kept"),
    [
        ("Règlement de consultation.pdf", "Règlement de consultation.pdf"),
        # Decomposed accents (as macOS sends them) are composed.
        ("Re\u0300glement.pdf", "Règlement.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\agent\\Desktop\\offre.docx", "offre.docx"),
        ("  offre \t finale .pdf ", "offre finale .pdf"),
        (".htaccess", "htaccess"),
        ("rapport.pdf...", "rapport.pdf"),
        ("bad\x00name\x1f.txt", "badname.txt"),
        # A right-to-left override makes "invoice\u202efdp.exe" read as "invoiceexe.pdf".
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("zero\u200bwidth\ufeff.pdf", "zerowidth.pdf"),
        ("no\u00a0break\u3000space.pdf", "no break space.pdf"),
    ],
)
def test_names_are_sanitised(given_name, kept):
    assert sanitise_name(given_name) == kept


@pytest.mark.parametrize("given_name", ["", "   ", "..", "/", "dir/", "\u202e\u200b", "\x00"])
def test_a_name_with_nothing_left_is_refused(given_name):
    with pytest.raises(errors.FileNameRequired) as excinfo:
        sanitise_name(given_name)
    assert excinfo.value.code == "file_name_required"
    assert excinfo.value.field == "file"


def test_a_long_name_is_cut_and_keeps_its_extension():
    name = sanitise_name("é" * 500 + ".xlsx")
    assert len(name) == MAX_NAME_LENGTH
    assert name.endswith("é.xlsx")


def test_a_long_name_without_extension_is_cut():
    assert sanitise_name("a" * 300) == "a" * MAX_NAME_LENGTH


@given(st.text(max_size=400))
def test_a_sanitised_name_is_always_safe(text):
    try:
        name = sanitise_name(text)
    except errors.FileNameRequired:
        return
    assert 0 < len(name) <= MAX_NAME_LENGTH
    assert "/" not in name
    assert "\\" not in name
    assert not name.startswith((".", " "))
    assert not name.endswith((".", " "))
    assert all(not unicodedata.category(ch).startswith("C") for ch in name)
    assert unicodedata.normalize("NFC", name) == name
    assert sanitise_name(name) == name  # stable


SIZE = 10_000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=500-999", (500, 999)),
        ("bytes=9500-", (9500, 9999)),
        ("bytes=-500", (9500, 9999)),
        ("bytes=-20000", (0, 9999)),  # a suffix longer than the file: the whole file
        ("bytes=9990-20000", (9990, 9999)),  # the end is clipped
        ("bytes=0-0", (0, 0)),
        ("bytes = 5 - 9", (5, 9)),
        ("BYTES=5-9", (5, 9)),
    ],
)
def test_one_range_is_understood(header, expected):
    assert byte_range(header, SIZE) == expected


@pytest.mark.parametrize(
    "header",
    [
        "bytes=0-1,5-9",  # several ranges: the whole file, as the RFC allows
        "items=0-9",
        "bytes=9-5",
        "bytes=-",
        "bytes=a-b",
        "bytes=0x10-",
        "bytes=\u0661-",  # an Arabic-Indic digit is not a digit here
        "bytes",
        "",
    ],
)
def test_other_range_headers_give_the_whole_file(header):
    assert byte_range(header, SIZE) is None


@pytest.mark.parametrize(("header", "size"), [("bytes=10000-", SIZE), ("bytes=-0", SIZE)])
def test_a_range_past_the_end_is_unsatisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, size)


def test_an_ascii_name_is_given_plainly():
    assert content_disposition("offre.pdf", inline=False) == 'attachment; filename="offre.pdf"'
    assert content_disposition("logo.png", inline=True) == 'inline; filename="logo.png"'


def test_a_non_ascii_name_is_given_in_utf8_with_an_ascii_fallback():
    header = content_disposition("Règlement « DCE » n°2.pdf", inline=False)
    disposition, fallback, extended = (part.strip() for part in header.split(";"))
    assert disposition == "attachment"
    assert fallback == 'filename="Reglement _ DCE _ n_2.pdf"'
    assert extended.startswith("filename*=UTF-8''")
    assert unquote(extended.removeprefix("filename*=UTF-8''")) == "Règlement « DCE » n°2.pdf"
    assert header.isascii()


def test_quotes_and_backslashes_never_end_the_quoted_name():
    header = content_disposition('a"b\\c.txt', inline=False)
    assert header.startswith("attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''")
