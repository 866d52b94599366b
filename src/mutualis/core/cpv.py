"""The CPV 2008 vocabulary: read a code as people write it, look it up, search it.

Codes are written ``45000000-7`` (8 digits, a dash, the check digit) for the main
vocabulary and ``AA01-1`` for the supplementary one; the DECP schema prefers the 8 digits
alone, which is how they are stored (``CpvCode.code``). ``parse`` accepts either form,
checks the check digit against the published one when it is given, and refuses a code
the vocabulary does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import CpvCode
from .search import contains_folded, query_words

MAIN = re.compile(r"^(\d{8})(?:-(\d))?$")
SUPPLEMENTARY = re.compile(r"^([A-Z]{2}\d{2})(?:-(\d))?$")
# A picker shows a screenful; a longer list helps nobody choose.
MAX_RESULTS = 20


def _split(text: str) -> tuple[str, str | None] | None:
    text = text.strip().upper()
    match = MAIN.match(text) or SUPPLEMENTARY.match(text)
    if match is None:
        return None
    return match.group(1), match.group(2)


def parse(text: str, *, supplementary: bool = False) -> CpvCode:
    """The vocabulary's row for ``text`` ("45000000-7", "45000000"), or a
    ``ValidationError`` saying why it is refused (code ``cpv_format`` or
    ``cpv_unknown``)."""
    parts = _split(text)
    pattern = SUPPLEMENTARY if supplementary else MAIN
    if parts is None or not pattern.match(parts[0]):
        raise ValidationError(
            _(
                "“%(code)s” is not a CPV code: write it as 8 digits, a dash and the check "
                "digit, for example 45000000-7."
            )
            if not supplementary
            else _("“%(code)s” is not a supplementary CPV code: write it as AA01-1."),
            code="cpv_format",
            params={"code": text.strip()[:20]},
        )
    code, check_digit = parts
    row = CpvCode.objects.filter(code=code, supplementary=supplementary).first()
    if row is None or (check_digit is not None and check_digit != row.check_digit):
        raise ValidationError(
            _("“%(code)s” is not in the CPV 2008 vocabulary: choose a code from the list."),
            code="cpv_unknown",
            params={"code": text.strip()[:20]},
        )
    return row


def parse_many(texts: Iterable[str]) -> list[CpvCode]:
    """Several codes, each checked as by ``parse``, duplicates dropped, order kept."""
    seen: dict[str, CpvCode] = {}
    for text in texts:
        if text.strip():
            row = parse(text)
            seen.setdefault(row.code, row)
    return list(seen.values())


def unknown_codes(codes: Iterable[str]) -> list[str]:
    """The stored codes (8 digits) that the vocabulary does not hold."""
    wanted = set(codes)
    known = set(CpvCode.objects.filter(code__in=wanted).values_list("code", flat=True))
    return sorted(wanted - known)


def labels(codes: Iterable[str]) -> dict[str, CpvCode]:
    """The rows of stored codes, by code, in one query."""
    return {row.code: row for row in CpvCode.objects.filter(code__in=set(codes))}


def label(row: CpvCode) -> str:
    """The label in the language of the request (French unless English is asked)."""
    return row.label_en if (get_language() or "fr").startswith("en") else row.label_fr


def search(text: str, *, limit: int = MAX_RESULTS) -> list[CpvCode]:
    """Codes of the main vocabulary whose code starts with the digits typed, or whose
    labels contain every word typed (accents and case ignored)."""
    condition = Q(supplementary=False)
    words = query_words(text)
    if not words:
        return []
    for raw, folded in words:
        digits = raw.split("-")[0]
        if digits.isdigit():
            condition &= Q(code__startswith=digits)
        else:
            condition &= contains_folded("search_text", folded)
    return list(CpvCode.objects.filter(condition).order_by("code")[: max(0, limit)])
