"""allauth's second-factor forms, limited: every attempt first asks the lock-out, every
failure counts toward it and is audited (see ``identity.lockout``).

allauth's own limit on this step reuses its counter of failed logins, which settings.py
switches off because axes is the platform's one lock-out; without these forms the step
would accept any number of codes. Installed through ``MFA_FORMS``: the login step (a code,
or a passkey) and the re-authentication a signed-in person goes through before a
sensitive change. A passkey login without a password (``login_webauthn``) names no
account before it succeeds, so it cannot count against one: allauth limits it per
address (``MFA_RATE_LIMITS["webauthn_login"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from allauth.core import context
from allauth.mfa.base import forms as base_forms
from allauth.mfa.webauthn import forms as webauthn_forms
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from mutualis.core.forms import bounded_text_fields

from . import lockout

# A code is six digits, a recovery code eight characters: room for spaces and dashes.
CODE_MAX_LENGTH = 64

LOCKED_OUT = _(
    "Sign-in is paused after too many failed attempts. Wait a few minutes, then try again."
)


# allauth ships no types: the mixin is typed against the Form it is mixed into.
if TYPE_CHECKING:
    _FormBase = forms.Form
else:
    _FormBase = object


class _Limited(_FormBase):
    """Mixed into an allauth form that has ``user`` and one posted field."""

    field: ClassVar[str]
    method: ClassVar[str]
    reauthentication: ClassVar[bool] = False

    user: Any

    def full_clean(self) -> None:
        request = context.request
        if self.is_bound and lockout.second_factor_locked(request, self.user):
            # Refused before allauth checks anything: the right code or key is refused
            # too (and a recovery code stays unused) until the lock ends.
            self._errors = ErrorDict()
            self.cleaned_data = {}
            self.add_error(None, ValidationError(LOCKED_OUT, code="locked_out"))
            return
        super().full_clean()
        # An empty submission (a double click) is not a guess.
        if self.is_bound and self._errors and self.data.get(self.field):
            lockout.record_second_factor_failure(
                request=request,
                user=self.user,
                method=self.method,
                reauthentication=self.reauthentication,
            )


@bounded_text_fields(CODE_MAX_LENGTH)
class AuthenticateForm(_Limited, base_forms.AuthenticateForm):
    field = "code"
    method = "code"


@bounded_text_fields(CODE_MAX_LENGTH)
class ReauthenticateForm(_Limited, base_forms.ReauthenticateForm):
    field = "code"
    method = "code"
    reauthentication = True


@bounded_text_fields(settings.MUTUALIS_MAX_FIELD_LENGTH)
class AuthenticateWebAuthnForm(_Limited, webauthn_forms.AuthenticateWebAuthnForm):
    field = "credential"
    method = "passkey"


@bounded_text_fields(settings.MUTUALIS_MAX_FIELD_LENGTH)
class ReauthenticateWebAuthnForm(_Limited, webauthn_forms.ReauthenticateWebAuthnForm):
    field = "credential"
    method = "passkey"
    reauthentication = True
