"""Back-office security page: the roles that require a second factor, and the lifting of
sign-in lock-outs. Operator staff only, like every back-office page."""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.identity import lockout, security
from mutualis.identity import selectors as identity_selectors

from .views import staff_view


class MfaRequirementForm(forms.Form):
    required_roles = forms.MultipleChoiceField(
        label=_("Roles that require a second factor"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "A person holding one of these roles in any of their organisations must set up "
            "an authenticator app or a security key before reaching any other page."
        ),
    )

    def __init__(self, *args: Any, roles: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roles = roles
        self.fields["required_roles"].choices = [
            (role.code, f"{role.label} ({role.service.name})" if role.service else role.label)
            for role in roles
        ]

    def requirements(self) -> dict[str, bool]:
        chosen = set(self.cleaned_data["required_roles"])
        return {role.code: role.code in chosen for role in self.roles}


class UnlockAccountForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address of the account"),
        max_length=254,  # the accounts' column (Django's form field allows 320)
        help_text=_("Its failed attempts are cleared, from every address."),
    )


class UnlockAddressForm(forms.Form):
    address = forms.CharField(
        label=_("IP address"),
        max_length=45,
        help_text=_(
            "Every failed attempt from this address is cleared. An IPv4 or IPv6 address, "
            "as shown in the logs."
        ),
    )


def _cool_off_minutes(request: HttpRequest) -> int:
    cool_off = get_cool_off(request)
    return math.ceil(cool_off.total_seconds() / 60) if cool_off else 0


def _show_error(form: forms.Form, error: MutualisError, field: str) -> None:
    form.add_error(field, ValidationError(error.message, code=error.code))


def _page(
    request: HttpRequest,
    *,
    requirement_form: MfaRequirementForm | None = None,
    account_form: UnlockAccountForm | None = None,
    address_form: UnlockAddressForm | None = None,
) -> HttpResponse:
    roles = identity_selectors.list_roles()
    if requirement_form is None:
        requirement_form = MfaRequirementForm(
            roles=roles,
            initial={"required_roles": [role.code for role in roles if role.requires_mfa]},
        )
    return render(
        request,
        "backoffice/security_overview.html",
        {
            "requirement_form": requirement_form,
            "account_form": account_form or UnlockAccountForm(),
            "address_form": address_form or UnlockAddressForm(),
            "lockout_minutes": _cool_off_minutes(request),
        },
    )


@staff_view
def security_overview(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = MfaRequirementForm(request.POST, roles=identity_selectors.list_roles())
    if not form.is_valid():
        return _page(request, requirement_form=form)
    try:
        changed = security.set_mfa_requirements(
            actor=request.membership,  # type: ignore[attr-defined]
            requirements=form.requirements(),
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        _show_error(form, exc, "required_roles")
        return _page(request, requirement_form=form)
    if changed:
        messages.success(
            request,
            ngettext(
                "The requirement of %(count)d role has been changed.",
                "The requirements of %(count)d roles have been changed.",
                len(changed),
            )
            % {"count": len(changed)},
        )
    else:
        messages.info(request, _("Nothing has changed."))
    return redirect("backoffice:security")


@staff_view
@require_POST
def unlock_account(request: HttpRequest) -> HttpResponse:
    form = UnlockAccountForm(request.POST)
    if not form.is_valid():
        return _page(request, account_form=form)
    cleared = lockout.unlock_account(
        actor=request.membership,  # type: ignore[attr-defined]
        email=form.cleaned_data["email"],
        request_context=audit.request_context(request),
    )
    messages.success(request, _cleared_message(cleared))
    return redirect("backoffice:security")


@staff_view
@require_POST
def unlock_address(request: HttpRequest) -> HttpResponse:
    form = UnlockAddressForm(request.POST)
    if not form.is_valid():
        return _page(request, address_form=form)
    try:
        cleared = lockout.unlock_address(
            actor=request.membership,  # type: ignore[attr-defined]
            address=form.cleaned_data["address"],
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        _show_error(form, exc, "address")
        return _page(request, address_form=form)
    messages.success(request, _cleared_message(cleared))
    return redirect("backoffice:security")


def _cleared_message(cleared: int) -> str:
    if not cleared:
        return str(_("There was no failed attempt to clear: sign-in was not paused."))
    return ngettext(
        "%(count)d record of failed attempts has been cleared: sign-in is open again.",
        "%(count)d records of failed attempts have been cleared: sign-in is open again.",
        cleared,
    ) % {"count": cleared}
