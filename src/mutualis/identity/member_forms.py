"""Forms of the members pages: they parse input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors


class RolesField(forms.MultipleChoiceField):
    """Roles as check boxes; the choices are read when the form is made, since services
    add their own roles as rows."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Roles"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("error_messages", {"invalid_choice": _("%(value)s is not a known role.")})
        super().__init__(**kwargs)


def _role_choices(organisation_id: int) -> list[tuple[str, str]]:
    return [(role.code, role.label) for role in selectors.roles_offered_to(organisation_id)]


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        # The invitations' column: Django's form field allows 320 characters, which the
        # database refused with a server error.
        max_length=254,
        help_text=_(
            "The person receives a link valid for a limited time. Without an account yet, "
            "they create one with this address."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    roles = RolesField()

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = _role_choices(organisation_id)


class RolesForm(forms.Form):
    roles = RolesField()

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = _role_choices(organisation_id)
