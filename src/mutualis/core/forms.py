"""Form helpers shared by every context."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from .errors import MutualisError


def show_error(form: forms.Form, error: MutualisError) -> None:
    """Put a service's error on the field it is about, else on the whole form, with its
    stable code (tests and the error summary read it)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, ValidationError(error.message, code=error.code))
