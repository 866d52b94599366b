"""Accent- and case-insensitive search: one folding, for every database and every list.

A searchable table stores its text folded (``Organisation.search_name``,
``Company.search_name``, ``User.search_text``), written by the model's ``save()`` and by
every bulk path; a query is folded the same way, word by word, and each word must be
contained in the stored text. The same Python function folds both sides, so SQLite and
PostgreSQL find the same rows; PostgreSQL serves the containment test from a trigram
index (``pg_trgm``, created by ``core.0006``).

Folding ("Saint-Apollinaire", "ST APOLLINAIRE" and "st-apollinaire" all give
"saint apollinaire"; "Côte-d'Or" gives "cote d or"):

- ligatures spelled out (œ → oe, æ → ae, ß → ss), then accents dropped (NFKD, combining
  marks removed), then case folded;
- every run of characters that is not a letter or a digit (spaces, hyphens, apostrophes,
  dots, NUL bytes…) becomes one space;
- the abbreviations of place names are spelled out: "st" → "saint", "ste" → "sainte".

Changing these rules changes what the stored columns should hold: ship a data migration
that folds them again (as ``core.0007`` does) with the change.
"""

from __future__ import annotations

import re
import unicodedata

from django.db.models import Q

# More words than this are ignored: each one is a condition of the query.
MAX_WORDS = 8
# A query is cut at this length before folding (forms and the API refuse longer ones).
MAX_QUERY_LENGTH = 200

_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l"}
)
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
# ``\W`` is Unicode-aware: anything but a letter, a digit or "_", which joins it.
_SEPARATORS = re.compile(r"[\W_]+")


def _bare(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """``text`` lower-cased, without accents, its words separated by single spaces."""
    # Twice: case folding may add a combining mark ("İ"), and the compatibility
    # decomposition may give back capitals (a mathematical bold A gives "A"); the second
    # pass settles both.
    bare = _bare(_bare(text.translate(_LIGATURES)))
    return " ".join(_ABBREVIATIONS.get(word, word) for word in _SEPARATORS.split(bare) if word)


def spelled_out(word: str) -> str:
    """A place-name abbreviation spelled out ("St" gives "saint"), any other word as is."""
    return _ABBREVIATIONS.get(word.casefold(), word)


def query_words(text: str) -> list[tuple[str, str]]:
    """The words of a query as typed, each with its folding: ``[(raw, folded), …]``.

    A word is what the person separated with spaces: "Côte-d'Or" is one word, folded to
    the phrase "cote d or", so that it matches as a phrase. Words that fold to nothing
    (a lone "-") are dropped; at most ``MAX_WORDS`` are kept.
    """
    words = []
    for raw in text[:MAX_QUERY_LENGTH].split():
        folded = fold(raw)
        if folded:
            words.append((raw, folded))
    return words[:MAX_WORDS]


def contains_folded(field: str, folded: str) -> Q:
    """The stored folded ``field`` contains the folded word ``folded``."""
    return Q(**{f"{field}__contains": folded})


def looks_like_code(raw: str) -> bool:
    """A word that may be a SIREN, SIRET or INSEE code ("21231", "2A004", "212102313")."""
    return raw.isascii() and raw.isalnum() and any(c.isdigit() for c in raw)
