"""Forms of the consultation files and of rectifications: files sent as one multipart
form (a buyer's DCE is a handful of files), every text field bounded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .documents import Upload
from .forms import DESCRIPTION_LENGTH, ParisDateTimeField
from .models import Consultation, ConsultationDocument
from .rectifications import RECTIFIABLE_FIELDS, RectificationInput

SUMMARY_LENGTH = 2000


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


def uploads_of(files: Sequence[Any]) -> list[Upload]:
    return [Upload(file=f, name=f.name or "") for f in files]


class DocumentUploadForm(forms.Form):
    uploads = MultipleFileField(
        label=_("Files to add"),
        help_text=_(
            "PDF, office documents, plans (DWG, DXF, IFC), images, or ZIP archives of them. "
            "The type is read from the content; programs and scripts are refused."
        ),
    )


class RectificationForm(forms.Form):
    summary = forms.CharField(
        label=_("What the rectification changes (published)"),
        max_length=SUMMARY_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    object = forms.CharField(
        label=_("Object of the contract"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=DESCRIPTION_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    place_of_execution = forms.CharField(
        label=_("Place of execution"), max_length=200, required=False
    )
    contact = forms.CharField(
        label=_("Contact"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
    questions_deadline = ParisDateTimeField(
        label=_("Deadline for questions (Paris time)"), required=False
    )
    response_deadline = ParisDateTimeField(
        label=_("Deadline for responses (Paris time)"), required=False
    )
    uploads = MultipleFileField(label=_("Files to add"), required=False)
    withdraw = forms.TypedMultipleChoiceField(
        label=_("Files to withdraw"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A withdrawn file stays listed, with its hash, in the public history."),
    )

    def __init__(
        self, *args: Any, documents: Sequence[ConsultationDocument] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["withdraw"].choices = [  # type: ignore[attr-defined]
            (d.pk, f"{d.file.original_name} (SHA-256 {d.file.sha256[:12]}…)") for d in documents
        ]

    @staticmethod
    def initial_of(consultation: Consultation) -> dict[str, Any]:
        initial: dict[str, Any] = {f: getattr(consultation, f) for f in RECTIFIABLE_FIELDS}
        initial["questions_deadline"] = consultation.questions_deadline
        initial["response_deadline"] = consultation.response_deadline
        return initial

    def to_input(self) -> RectificationInput:
        data = self.cleaned_data
        return RectificationInput(
            summary=data["summary"],
            fields={f: data[f] or "" for f in RECTIFIABLE_FIELDS},
            questions_deadline=data["questions_deadline"],
            response_deadline=data["response_deadline"],
            add=uploads_of(data["uploads"]),
            withdraw=list(data["withdraw"]),
        )
