"""Forms of the key ceremony. The browser fills the hidden fields (public keys, sealed
files, the paper share's coordinate); passphrases and the paper share have no field
name and are never posted. ``keys.py`` checks everything again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import key_errors, keys
from .models import RECIPIENT_LENGTH, HolderKey

_NO_KEY = _(
    "Your browser did not generate the key: it needs JavaScript and a recent browser."
    " Reload the page and try again."
)


class EnrolForm(forms.Form):
    recipient = forms.CharField(
        max_length=RECIPIENT_LENGTH, widget=forms.HiddenInput, error_messages={"required": _NO_KEY}
    )
    sealed_identity = forms.CharField(
        max_length=keys.SEALED_IDENTITY_MAX_CHARS,
        strip=False,
        widget=forms.HiddenInput,
        error_messages={"required": _NO_KEY},
    )


class DefaultsForm(forms.Form):
    threshold = forms.IntegerField(
        label=_("Members needed to open"), min_value=1, max_value=keys.MAX_HOLDERS
    )
    share_count = forms.IntegerField(
        label=_("Key holders"), min_value=1, max_value=keys.MAX_HOLDERS
    )


class OpeningKeyForm(forms.Form):
    holders = forms.MultipleChoiceField(
        label=_("Key holders"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one key holder.")},
    )
    threshold = forms.IntegerField(
        label=_("Members needed to open"),
        min_value=1,
        max_value=keys.MAX_HOLDERS,
        help_text=_("Any this many of the chosen holders, together, can open the responses."),
    )
    recipient = forms.CharField(
        max_length=RECIPIENT_LENGTH,
        widget=forms.HiddenInput,
        required=False,
    )
    escrow_index = forms.IntegerField(
        min_value=1, max_value=255, widget=forms.HiddenInput, required=False
    )
    escrow_printed = forms.BooleanField(
        label=_("I have printed the paper share and will hand it to the legal representative."),
        error_messages={"required": _("Print the paper share first, and confirm it.")},
    )

    def __init__(self, *args: Any, holders: list[HolderKey], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holder_keys = {str(h.pk): h for h in holders}
        self.fields["holders"].choices = [  # type: ignore[attr-defined]
            (str(h.pk), h.user.get_full_name() or h.user.email) for h in holders
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if not data.get("recipient") or not data.get("escrow_index"):
            raise forms.ValidationError(_NO_KEY, code="no_key")
        shares: dict[int, str] = {}
        for holder_id in data.get("holders", []):
            text = self.data.get(f"share_{holder_id}", "")
            if not isinstance(text, str) or not text:
                raise forms.ValidationError(_NO_KEY, code="no_key")
            if len(text) > keys.SEALED_SHARE_MAX_CHARS or "\x00" in text:
                raise forms.ValidationError(
                    key_errors.SharesInvalid.message, code="opening_key_shares_invalid"
                )
            shares[int(holder_id)] = text
        data["shares"] = shares
        return data

    def to_input(self) -> keys.OpeningKeyInput:
        data = self.cleaned_data
        return keys.OpeningKeyInput(
            recipient=data["recipient"],
            threshold=data["threshold"],
            sealed_shares=data["shares"],
            escrow_index=data["escrow_index"],
            escrow_printed=data["escrow_printed"],
        )
