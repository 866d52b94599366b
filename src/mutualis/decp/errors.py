"""Refusals of the DECP context: a stable ``code``, a translated message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class DecpError(MutualisError):
    code = "decp_error"


class EntryTransitionNotAllowed(DecpError):
    code = "decp_transition_not_allowed"
    message = _("This step is not possible in the DECP entry's present state.")
