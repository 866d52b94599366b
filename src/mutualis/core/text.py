"""Names as people type them, made safe to show to others.

A name (a company's, an organisation's, a person's) reaches third parties: the subject of
an e-mail, a page another person reads. Invisible characters let it lie there: a bidi
override (U+202E) shows ``Mairie‮lapicinuM`` reversed, a zero-width space makes two
names that look the same differ, a control character breaks a header or a log line.
So every name is cleaned where it enters the platform, before it is stored.
"""

from __future__ import annotations

import unicodedata


def clean_name(text: str | None, *, max_length: int | None = None) -> str:
    """``text`` in NFC without control, format or unassigned characters, its spaces
    collapsed to single plain spaces, without leading or trailing spaces, cut to
    ``max_length`` characters when given.

    Unicode category C goes: Cc controls (NUL, line breaks, escape), Cf format
    characters (the bidi marks, embeddings, overrides and isolates U+200E/F, U+202A to U+202E,
    U+2066 to U+2069, U+061C; the zero-width U+200B to U+200D, U+2060 and the BOM U+FEFF; the soft
    hyphen), Cs lone surrogates, Co private use and Cn unassigned code points. A name
    needs none of them; the rare script that uses a zero-width joiner reads the same
    without it.
    """
    # Line breaks and tabs first become spaces, so that "Dupont\nSARL" keeps two words.
    text = " ".join((text or "").split())
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    # Again: removing a character may have joined two spaces, or left a base letter
    # next to its combining accent (NFC composes them).
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if max_length is not None:
        text = text[:max_length].rstrip()
    return text
