"""Forms of the operator back office: they parse input; the rules live in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.fr import siren as siren_rules

from mutualis.core.errors import PlatformError
from mutualis.core.models import (
    AdhesionStatus,
    FeeCategory,
    Organisation,
    OrganisationKind,
    OutgoingEmail,
)
from mutualis.core.models.organisations import colour_validator
from mutualis.core.numbers import parse_siret
from mutualis.core.services import organisations as organisation_services
from mutualis.core.validators import validate_siren

from . import selectors

ALL = [("", _("All"))]


class SirenField(forms.CharField):
    """A SIREN typed with or without spaces; stored as its 9 digits."""

    default_validators = [validate_siren]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("SIREN"))
        kwargs.setdefault("max_length", 11)
        kwargs.setdefault(
            "help_text", _("9 digits, as in the SIRENE register. Spaces are ignored.")
        )
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def to_python(self, value: Any) -> str:
        return siren_rules.compact(super().to_python(value) or "")


class ColourField(forms.CharField):
    default_validators = [colour_validator]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 7)
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "color"}))
        super().__init__(**kwargs)


class RolesField(forms.MultipleChoiceField):
    """The roles of a membership, as check boxes; choices are read when the form is made."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Roles"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("error_messages", {"invalid_choice": _("%(value)s is not a known role.")})
        super().__init__(**kwargs)


# --- Organisations ---------------------------------------------------------------------


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Name, SIREN, INSEE code or public address."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=ALL + list(OrganisationKind.choices)
    )
    adhesion = forms.ChoiceField(
        label=_("Adhesion"), required=False, choices=ALL + list(AdhesionStatus.choices)
    )
    departement = forms.ChoiceField(label=_("Département"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["departement"].choices = ALL + [
            (d.insee_code, f"{d.insee_code} — {d.name}") for d in selectors.departements()
        ]

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid form filters nothing rather than failing."""
        if not self.is_valid():
            return {"text": "", "kind": "", "adhesion": "", "departement": ""}
        data = self.cleaned_data
        return {
            "text": data["q"],
            "kind": data["kind"],
            "adhesion": data["adhesion"],
            "departement": data["departement"],
        }


class OrganisationCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(kind.value, kind.label) for kind in organisation_services.CREATABLE_KINDS],
        help_text=_(
            "Communes, groupings of communes, départements and régions come from the "
            "territory import."
        ),
    )
    siren = SirenField(required=False)
    departement = forms.ModelChoiceField(
        label=_("Département"),
        required=False,
        queryset=Organisation.objects.none(),
        empty_label=_("None"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["departement"]
        field.queryset = selectors.departements()
        field.label_from_instance = lambda d: f"{d.insee_code} — {d.name}"


class OrganisationEditForm(forms.Form):
    adhesion_status = forms.ChoiceField(label=_("Adhesion"), choices=AdhesionStatus.choices)
    adhesion_since = forms.DateField(
        label=_("Member since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Left empty for a new member, today's date is used."),
    )
    fee_category = forms.ModelChoiceField(
        label=_("Fee category"),
        required=False,
        queryset=FeeCategory.objects.order_by("annual_fee", "code"),
        empty_label=_("None"),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    siren = SirenField(required=False)
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG or JPEG image, at most 1 MB and 4000 by 4000 pixels."),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label=_("Remove the current logo"), required=False)
    primary_colour = ColourField(label=_("Primary colour"))
    secondary_colour = ColourField(label=_("Secondary colour"))
    siret = forms.CharField(
        label=_("SIRET of the main establishment"),
        required=False,
        max_length=20,
        help_text=_("14 digits: the SIREN, then the 5 digits of the establishment."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    street = forms.CharField(label=_("Street address"), required=False, max_length=200)
    street_extra = forms.CharField(
        label=_("Address complement"),
        required=False,
        max_length=200,
        help_text=_("Building, locality, PO box…"),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    contact_email = forms.EmailField(
        label=_("Contact e-mail address"),
        required=False,
        max_length=254,
        help_text=_("Shown on the public directory: prefer a shared address."),
    )
    phone = forms.CharField(
        label=_("Telephone"),
        required=False,
        max_length=25,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )

    @classmethod
    def for_organisation(cls, organisation: Organisation, *args: Any, **kwargs: Any) -> Any:
        initial = {
            "adhesion_status": organisation.adhesion_status,
            "adhesion_since": organisation.adhesion_since,
            "fee_category": organisation.fee_category_id,
            "name": organisation.name,
            "siren": organisation.siren,
            "primary_colour": organisation.primary_colour,
            "secondary_colour": organisation.secondary_colour,
            "siret": organisation.siret,
            "street": organisation.street,
            "street_extra": organisation.street_extra,
            "postcode": organisation.postcode,
            "city": organisation.city,
            "contact_email": organisation.contact_email,
            "phone": organisation.phone,
        }
        return cls(*args, initial=initial, **kwargs)

    # Every input is checked at once, so that the page lists all its errors; the service
    # checks them again (and the SIRET against the SIREN) when it writes.

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if logo:
            _check(organisation_services.check_logo, logo)
        return logo

    def clean_siret(self) -> str:
        siret = self.cleaned_data["siret"]
        return str(_check(parse_siret, siret)) if siret.strip() else ""

    def clean_postcode(self) -> str:
        return str(_check(organisation_services.clean_postcode, self.cleaned_data["postcode"]))

    def clean_phone(self) -> str:
        return str(_check(organisation_services.clean_phone, self.cleaned_data["phone"]))


def _check(rule: Any, value: Any) -> Any:
    """A service's rule as a form field's validation."""
    try:
        return rule(value)
    except PlatformError as exc:
        raise ValidationError(exc.message, code=exc.code) from exc


# --- Users and memberships -------------------------------------------------------------


def role_choices() -> list[tuple[str, str]]:
    return [(role.code, role.label) for role in selectors.roles()]


class UserSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("E-mail address, first name or last name."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )


class MembershipAddForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address of the account"),
        max_length=254,  # the accounts' column (Django's form field allows 320)
        help_text=_("The person must already have an account on the platform."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    roles = RolesField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices()


class RolesForm(forms.Form):
    roles = RolesField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices()


# --- Audit trail and e-mail ------------------------------------------------------------


class AuditFilterForm(forms.Form):
    chain = forms.CharField(
        label=_("Chain"),
        required=False,
        max_length=64,
        help_text=_('"platform", or "org:" followed by an organisation number.'),
    )
    action = forms.CharField(
        label=_("Action starts with"),
        required=False,
        max_length=80,
        help_text=_('For example "organisation." or "membership.granted".'),
    )
    actor = forms.CharField(
        label=_("Actor"),
        required=False,
        max_length=200,
        help_text=_("Name or e-mail address of a person, or a reference such as system:…"),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To (included)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error(
                "date_to",
                ValidationError(_("The end date is before the start date."), code="dates_reversed"),
            )
        return data

    def filters(self) -> dict[str, Any] | None:
        """The filters, or None when the input is invalid (the page then lists nothing)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return {
            "chain": data["chain"].strip(),
            "action": data["action"].strip(),
            "actor": data["actor"].strip(),
            "date_from": data["date_from"],
            "date_to": data["date_to"],
        }


class EmailFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=ALL + list(OutgoingEmail.Status.choices)
    )
    to = forms.CharField(
        label=_("Recipient contains"),
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    def filters(self) -> dict[str, str]:
        if not self.is_valid():
            return {"status": "", "to": ""}
        return {"status": self.cleaned_data["status"], "to": self.cleaned_data["to"]}
