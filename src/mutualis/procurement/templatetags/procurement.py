"""Template filters of the procurement pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

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


# The search form's fields left empty render the same markup request after request (the
# check boxes of the procedures cost more than the page's query to render): kept per
# language and choices, in the process. Only empty fields without errors: what a
# visitor typed or chose is rendered afresh, and no search result is ever kept.
_EMPTY_FIELDS: dict[tuple[Any, ...], str] = {}
_EMPTY_FIELDS_MAX = 500


@register.simple_tag
def search_field(field: Any) -> str:
    """``procurement/_search_field.html`` for ``field`` (a bound field of the search form)."""
    value = field.value()
    key: tuple[Any, ...] | None = None
    if not value and not field.errors:
        choices = getattr(field.field.widget, "choices", ())
        key = (
            get_language(),
            field.html_name,
            field.auto_id,
            repr(value),
            tuple((str(v), str(label)) for v, label in choices),
        )
        html = _EMPTY_FIELDS.get(key)
        if html is not None:
            return mark_safe(html)  # noqa: S308 — rendered by the template below
    html = render_to_string("procurement/_search_field.html", {"field": field})
    if key is not None:
        if len(_EMPTY_FIELDS) >= _EMPTY_FIELDS_MAX:
            _EMPTY_FIELDS.clear()
        _EMPTY_FIELDS[key] = html
    return mark_safe(html)  # noqa: S308 — rendered by the template
