"""Forms of the companies' pages: they parse input; the rules (a SIRET's check digit,
its SIREN, the last administrator) live in the services."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mutualis.core import cpv

from .models import CompanySize, RepresentativeRole, VaultDocumentType


class SiretField(forms.CharField):
    """A SIRET as typed (spaces and dots allowed); the service checks it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("SIRET"))
        # Room for "732 829 320 00074" and the like; the service keeps the 14 digits.
        kwargs.setdefault("max_length", 24)
        kwargs.setdefault(
            "help_text",
            _("14 digits: the SIREN (9) then the establishment's NIC (5). Spaces are ignored."),
        )
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})


class SignUpForm(forms.Form):
    siret = SiretField()
    name = forms.CharField(
        label=_("Company name"),
        max_length=200,
        required=False,
        help_text=_(
            "As in the SIRENE register. Needed only when the company is new to the platform."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    is_head_office = forms.BooleanField(
        label=_("This establishment is the company's head office"),
        required=False,
        initial=True,
    )


class EstablishmentForm(forms.Form):
    siret = SiretField()
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    is_head_office = forms.BooleanField(
        label=_("This establishment is the company's head office"), required=False
    )


class InviteForm(forms.Form):
    email = forms.EmailField(
        label=_("Colleague's e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        choices=RepresentativeRole.choices,
        initial=RepresentativeRole.MEMBER,
        help_text=_("Administrators invite colleagues, answer requests to join and manage roles."),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=RepresentativeRole.choices)


class ProfileForm(forms.Form):
    size = forms.ChoiceField(
        label=_("Size of the company"),
        required=False,
        choices=[("", _("Not stated")), *CompanySize.choices],
        help_text=_(
            "As the EU and French law define it: micro-enterprise, fewer than 10 people and "
            "at most €2 million of turnover or balance sheet; small, fewer than 50 and at "
            "most €10 million; medium-sized, fewer than 250 and at most €50 million of "
            "turnover or €43 million of balance sheet; large, beyond."
        ),
    )
    main_departement = forms.ChoiceField(
        label=_("Département of the main establishment"), required=False
    )
    intervention_departements = forms.MultipleChoiceField(
        label=_("Area of intervention"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The départements where the company works."),
    )
    activities = forms.CharField(
        label=_("Activities"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What the company does, in a few lines (at most 2,000 characters)."),
    )

    # The searchable picker of the consultation form (static procurement/cpv-picker.js,
    # fed by /procurement/cpv/?q=): the input still takes codes typed by hand.
    cpv_codes = forms.CharField(
        label=_("Activities as CPV codes"),
        required=False,
        max_length=1000,
        widget=forms.TextInput(
            attrs={"data-cpv-picker": "multiple", "autocomplete": "off", "spellcheck": "false"}
        ),
        help_text=_(
            "For example 45261000-4, 45421000-4; type words or digits to search the "
            "vocabulary. Alerts on new consultations suggest them."
        ),
    )

    def __init__(self, *args: Any, departements: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["main_departement"].choices = [("", _("Not stated")), *departements]  # type: ignore[attr-defined]
        self.fields["intervention_departements"].choices = departements  # type: ignore[attr-defined]

    def clean_cpv_codes(self) -> list[str]:
        """Codes separated by commas, semicolons or spaces, each one of the CPV 2008
        vocabulary (``core.cpv``: an unknown code is refused with its name)."""
        text: str = self.cleaned_data["cpv_codes"]
        return [row.code for row in cpv.parse_many(re.split(r"[\s,;]+", text))]


class _VaultFileForm(forms.Form):
    title = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=200,
        help_text=_("Optional: what distinguishes it (the insurer, the contract…)."),
    )
    issued_on = forms.DateField(
        label=_("Issue date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "The last day it is valid. Required for the URSSAF, tax and insurance certificates."
        ),
    )
    file = forms.FileField(
        label=_("File"),
        required=False,
        max_length=255,
        help_text=_("PDF, image (PNG, JPEG) or office document (OpenDocument, Word, Excel)."),
    )


class VaultDocumentForm(_VaultFileForm):
    document_type = forms.ChoiceField(
        label=_("Type of document"), choices=VaultDocumentType.choices
    )

    field_order = ["document_type", "title", "issued_on", "valid_until", "file"]


class VaultReplaceForm(_VaultFileForm):
    pass
