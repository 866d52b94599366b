"""Template filters of the procurement pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from mutualis.core import cpv

from .. import deadlines

register = template.Library()


@register.filter
def paris(instant: datetime | None) -> str:
    """A date and time in Paris, with its offset from UTC always said."""
    return deadlines.display(instant)


@register.filter
def is_open_at(consultation: Any, now: datetime) -> bool:
    return bool(consultation.is_open(now))


@register.simple_tag
def cpv_labels(codes: list[str]) -> list[tuple[str, str]]:
    """(full code, label) of stored codes, in the order given."""
    rows = cpv.labels(codes)
    return [
        (rows[code].full_code, cpv.label(rows[code])) if code in rows else (code, "")
        for code in codes
    ]
