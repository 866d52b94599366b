"""Forms of the legality pages: they parse input; the @ctes rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import actes, classification
from .models import ActStatus, NatureChoice

ANNEX_SLOTS = 3


def _piece_type_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [
        (code, f"{code} {label}") for code, label in classification.PIECE_TYPES.items()
    ]


class EnrolmentForm(forms.Form):
    convention_reference = forms.CharField(
        label=_("Agreement reference"),
        max_length=60,
        help_text=_("As written on the agreement signed with the prefecture."),
    )
    convention_date = forms.DateField(
        label=_("Agreement date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    departement = forms.CharField(
        label=_("Département"),
        max_length=3,
        required=False,
        help_text=_("Three characters, for example 021. Left empty: taken from the directory."),
    )
    arrondissement = forms.CharField(
        label=_("Arrondissement"),
        max_length=1,
        required=False,
        help_text=_(
            "One digit, as given in the agreement. Left empty: taken from the directory "
            "(the territory files)."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    authority_nature = forms.CharField(
        label=_("Authority nature code"),
        max_length=2,
        help_text=_("Two digits, given by the prefecture in the agreement."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    natures = forms.TypedMultipleChoiceField(
        label=_("Natures of acts transmitted"),
        choices=NatureChoice.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )


class ActForm(forms.Form):
    nature = forms.TypedChoiceField(label=_("Nature"), choices=NatureChoice.choices, coerce=int)
    number = forms.CharField(
        label=_("Internal number"),
        max_length=actes.NUMBER_MAX_LENGTH,
        help_text=_("At most 15 characters: upper-case letters without accents, digits and “_”."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    decided_on = forms.DateField(
        label=_("Decision date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    classification = forms.ChoiceField(
        label=_("Subject classification"), choices=classification.leaf_choices
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=actes.SUBJECT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    paper_follows = forms.BooleanField(label=_("Paper documents follow"), required=False)
    document = forms.FileField(label=_("The act (PDF; XML for a budget document)"), required=False)
    document_signature = forms.FileField(
        label=_("Detached signature of the act (PKCS#7, optional)"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index in range(1, ANNEX_SLOTS + 1):
            self.fields[f"annex_{index}"] = forms.FileField(
                label=_("Annex %(n)s (PDF)") % {"n": index}, required=False
            )
            self.fields[f"annex_{index}_type"] = forms.ChoiceField(
                label=_("Piece type of annex %(n)s") % {"n": index},
                choices=_piece_type_choices,
                required=False,
            )
            self.fields[f"annex_{index}_signature"] = forms.FileField(
                label=_("Signature of annex %(n)s (optional)") % {"n": index}, required=False
            )

    def annex_slots(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"annex_{i}"], self[f"annex_{i}_type"], self[f"annex_{i}_signature"])
            for i in range(1, ANNEX_SLOTS + 1)
        ]


class ActFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *list(ActStatus.choices)], required=False
    )
    nature = forms.ChoiceField(
        label=_("Nature"),
        choices=[("", _("All"))] + [(str(v), label) for v, label in NatureChoice.choices],
        required=False,
    )
    q = forms.CharField(label=_("Number or subject"), max_length=100, required=False)


class PublicationForm(forms.Form):
    published_on = forms.DateField(
        label=_("Publication date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "The day the act was published or posted: a regulatory act enters into force then."
        ),
    )
