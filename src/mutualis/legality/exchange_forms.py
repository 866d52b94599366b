"""Forms of the prefecture's correspondence: they parse input; the rules live in
``correspondence.py``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import correspondence
from .models import Letter, LetterKind


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (``<input type="file" multiple>``): a list."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = list(data) if isinstance(data, list | tuple) else ([data] if data else [])
        if not items:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        single = super().clean
        return [single(item, initial) for item in items]


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(label=_("Your answer"), widget=forms.RadioSelect)
    documents = MultipleFileField(
        label=_("Documents (PDF)"),
        required=False,
        help_text=_(
            "The documents asked for, or your answer as a PDF. Without a file, the text "
            "below is sent as a PDF."
        ),
    )
    text = forms.CharField(
        label=_("Written answer"),
        required=False,
        max_length=correspondence.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = correspondence.ANSWERS.get(LetterKind(letter.kind), {})
        choices = [(kind, correspondence.ANSWER_LABELS[kind]) for kind in allowed]
        self.fields["answer"].choices = choices  # type: ignore[attr-defined]
        if len(choices) == 1:
            self.fields["answer"].initial = choices[0][0]


class DueDateForm(forms.Form):
    due_on = forms.DateField(
        label=_("Answer due by"),
        help_text=_("The date the prefecture's letter gives, if it gives one."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
