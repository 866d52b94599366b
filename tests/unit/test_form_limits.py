"""Every text field of the platform's forms states its limit, so that an over-long value
gets the form's own message and never reaches a column it overflows (a 500 on
PostgreSQL), and that limit is under the edge's bound (``mutualis.core.edge``), which
would otherwise answer first with a bare 400 page."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from django import forms
from django.conf import settings

import mutualis

# Every address column of the platform (Django's model EmailField): 254 characters.
EMAIL_COLUMN = 254


def text_fields():
    """(form, field name, field) of every text field declared by a form of the platform."""
    for module_info in pkgutil.walk_packages(mutualis.__path__, "mutualis."):
        if ".migrations" in module_info.name or module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for form in vars(module).values():
            if not (
                inspect.isclass(form)
                and issubclass(form, forms.BaseForm)
                and form.__module__ == module.__name__
            ):
                continue
            for name, field in form.base_fields.items():
                if isinstance(field, forms.CharField):
                    yield f"{form.__module__}.{form.__name__}", name, field


def test_the_platform_declares_forms_with_text_fields():
    assert len(list(text_fields())) > 20


def test_every_text_field_states_a_limit_under_the_edges_bound():
    unbounded = [
        f"{form}.{name}"
        for form, name, field in text_fields()
        if field.max_length is None or field.max_length > settings.MUTUALIS_MAX_FIELD_LENGTH
    ]
    assert unbounded == []


def test_every_address_field_fits_an_address_column():
    too_long = [
        f"{form}.{name} ({field.max_length})"
        for form, name, field in text_fields()
        if isinstance(field, forms.EmailField) and field.max_length > EMAIL_COLUMN
    ]
    assert too_long == []
