"""Form helpers shared by every context."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from .errors import MutualisError


def show_error(form: forms.Form, error: MutualisError) -> None:
    """Put a service's error on the field it is about, else on the whole form, with its
    stable code (tests and the error summary read it)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, ValidationError(error.message, code=error.code))


_Form = TypeVar("_Form", bound=type[forms.Form])


def bounded_text_fields(max_length: int) -> Callable[[_Form], _Form]:
    """Class decorator: give the text fields a form inherits from a library without a
    limit (allauth's) a ``max_length``, so that an over-long value gets the form's own
    message. The parent's fields are copied, never changed. A JSON field's limit is the
    length of the text posted, which the edge (``core.edge``) already bounds: it is stated,
    not checked again on the parsed value."""

    def bound(form_class: _Form) -> _Form:
        fields = {}
        for name, field in form_class.base_fields.items():
            if isinstance(field, forms.CharField) and field.max_length is None:
                field = copy.deepcopy(field)
                field.max_length = max_length
                if not isinstance(field, forms.JSONField):
                    field.validators = [*field.validators, MaxLengthValidator(max_length)]
                    if not field.widget.is_hidden:
                        field.widget.attrs["maxlength"] = str(max_length)
            fields[name] = field
        form_class.base_fields = fields
        return form_class

    return bound
