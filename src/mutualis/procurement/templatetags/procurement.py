"""Template filters of the procurement pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms, template
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from mutualis.core import cpv

from .. import deadlines
from ..search import ChoicesField, RepeatedText

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


# The search form's fields render the same markup request after request (the check
# boxes of the procedures cost more than the page's query to render): kept per language
# and choices, in the process. Kept: empty fields, and choice fields (a finite set of
# values, each checked by the form); a filled text box is its empty markup with the
# value put where Django's ``input.html`` puts it (``name`` then ``value``), escaped.
# Never a field with errors, and no search result is ever kept.
_EMPTY_FIELDS: dict[tuple[Any, ...], str] = {}
_EMPTY_FIELDS_MAX = 500
_TEXT_INPUTS = (forms.TextInput, forms.DateInput, RepeatedText)


def _key(field: Any, value: Any) -> tuple[Any, ...]:
    choices = getattr(field.field.widget, "choices", ())
    return (
        get_language(),
        field.html_name,
        field.auto_id,
        repr(value),
        tuple((str(v), str(label)) for v, label in choices),
    )


def _rendered(field: Any, key: tuple[Any, ...]) -> str:
    html = _EMPTY_FIELDS.get(key)
    if html is None:
        html = render_to_string("procurement/_search_field.html", {"field": field})
        if len(_EMPTY_FIELDS) >= _EMPTY_FIELDS_MAX:
            _EMPTY_FIELDS.clear()
        _EMPTY_FIELDS[key] = html
    return html


@register.simple_tag
def search_field(field: Any) -> str:
    """``procurement/_search_field.html`` for ``field`` (a bound field of the search form)."""
    value = field.value()
    widget = field.field.widget
    html: str
    if field.errors:
        html = render_to_string("procurement/_search_field.html", {"field": field})
    elif not value or isinstance(field.field, forms.ChoiceField | ChoicesField):
        html = _rendered(field, _key(field, value))
    elif type(widget) in _TEXT_INPUTS and (
        # The box's empty markup, kept when a page showed it empty (a parameter left
        # out: None, or no values of a repeatable one).
        empty := _EMPTY_FIELDS.get(_key(field, [] if type(widget) is RepeatedText else None))
    ):
        html = empty
        shown = widget.format_value(value)
        if shown is not None:
            name = f' name="{field.html_name}"'
            html = html.replace(name, f'{name} value="{escape(shown)}"', 1)
    else:
        html = render_to_string("procurement/_search_field.html", {"field": field})
    return mark_safe(html)  # noqa: S308 — rendered by the template, the value escaped
