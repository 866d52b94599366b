"""Forms of the companies' pages: they parse input; the rules (a SIRET's check digit,
its SIREN, the last administrator) live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import RepresentativeRole


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
