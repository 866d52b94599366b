"""Forms of the buyers' shared workspace: a group purchase's participants, the clause
library (search, proposals, the operator's editing), a copy of a past consultation, the
ESPD selection criteria. Every text field states its limit."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mutualis.core.search import MAX_QUERY_LENGTH

from . import espd_selection, library
from .forms import DESCRIPTION_LENGTH, ParisDateTimeField
from .models import Consultation, LibraryKind


class ParticipantForm(forms.Form):
    organisation = forms.CharField(
        label=_("Member organisation"),
        max_length=120,
        help_text=_("Its SIREN (9 digits) or its public address, as in its directory page."),
    )
    share_percent = forms.DecimalField(
        label=_("Share (%)"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
    )
    share_amount = forms.DecimalField(
        label=_("Estimated amount of the share (excluding VAT, €)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
    )


class LibrarySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Words"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All")), *LibraryKind.choices]
    )


class EntryForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=LibraryKind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        max_length=DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Paragraphs, lists, bold and italics are kept; anything else is removed."),
    )
    keywords = forms.CharField(label=_("Keywords"), max_length=300, required=False)

    @classmethod
    def initial_of(cls, entry: Any) -> dict[str, Any]:
        return {"kind": entry.kind, "title": entry.title, "body": entry.body,
                "keywords": entry.keywords, "is_active": entry.is_active}  # fmt: skip

    def to_input(self) -> library.EntryInput:
        data = self.cleaned_data
        return library.EntryInput(
            kind=data["kind"], title=data["title"], body=data["body"], keywords=data["keywords"]
        )


class OperatorEntryForm(EntryForm):
    is_active = forms.BooleanField(label=_("Offered to buyers"), required=False, initial=True)


class ProposalForm(EntryForm):
    note = forms.CharField(
        label=_("Note to the operator"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the rejection"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The member reads it."),
    )


class CopyForm(forms.Form):
    reference = forms.CharField(
        label=_("Internal reference of the new consultation"), max_length=50
    )
    questions_deadline = ParisDateTimeField(
        label=_("Deadline for questions"), help_text=_("Paris time, to the minute.")
    )
    response_deadline = ParisDateTimeField(
        label=_("Deadline for responses"), help_text=_("Paris time, to the minute.")
    )

    def clean_reference(self) -> str:
        reference: str = self.cleaned_data["reference"].strip()
        if not reference:
            raise ValidationError(_("Give the new consultation its own reference."))
        return reference


class SelectionForm(forms.Form):
    code = forms.ChoiceField(label=_("Selection criterion"))
    description = forms.CharField(
        label=_("Description of what is required"),
        required=False,
        max_length=espd_selection.DESCRIPTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    minimum_amount = forms.DecimalField(
        label=_("Minimum amount (€)"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("For a turnover, an insurance or another financial requirement."),
    )
    years = forms.IntegerField(
        label=_("Number of years"),
        required=False,
        min_value=1,
        max_value=10,
        help_text=_("For a turnover: the financial years considered."),
    )
    minimum_quantity = forms.DecimalField(
        label=_("Minimum quantity"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        help_text=_("A number of references, of staff, or a ratio, as the criterion asks."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].choices = [("", "—"), *espd_selection.choices()]  # type: ignore[attr-defined]

    def to_input(self) -> espd_selection.SetCriterion:
        data = self.cleaned_data
        return espd_selection.SetCriterion(
            code=data["code"],
            description=data["description"],
            minimum_amount=data["minimum_amount"],
            years=data["years"],
            minimum_quantity=data["minimum_quantity"],
        )


def consultation_label(consultation: Consultation) -> str:
    return f"{consultation.reference} — {consultation.title}"
