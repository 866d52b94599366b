"""Helpers the companies' use cases share: text checks and the actor reread under lock."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied

from mutualis.core import audit
from mutualis.core.text import clean_name

from .. import errors
from ..models import Company, Representative

# C0 controls and DEL but the tab and the line breaks a text area sends.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def context(request_context: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(request_context or {})


def record(
    company: Company, *, actor: Any, action: str, target: Any, payload: dict[str, Any], **ctx: Any
) -> None:
    """Append the event to the company's own chain (see ``companies.services``)."""
    audit.record(
        actor=actor,
        action=action,
        chain=audit.company_chain(company.pk),
        target=target,
        payload=payload,
        **ctx,
    )


def checked_line(value: str | None, *, field: str, max_length: int) -> str:
    """A one-line text (a title): refused with control characters or over
    ``max_length``; bidi and zero-width characters go (``core.text.clean_name``)."""
    value = value or ""
    if _CONTROLS.search(value):
        raise errors.ControlCharacters(field=field)
    value = clean_name(value)
    if len(value) > max_length:
        raise errors.TextTooLong(field=field)
    return value


def checked_text(value: str | None, *, field: str, max_length: int) -> str:
    """A text of several lines (a description): line breaks kept, control characters
    refused, at most ``max_length`` characters."""
    value = (value or "").replace("\r\n", "\n").strip()
    if _CONTROLS.search(value):
        raise errors.ControlCharacters(field=field)
    if len(value) > max_length:
        raise errors.TextTooLong(field=field)
    return value


def lock_company(actor: Representative, *, admin: bool) -> tuple[Company, Representative]:
    """The actor's company, locked, and the actor's row read again behind that lock:
    refuses a person who no longer represents it (or is no longer an administrator of it
    when ``admin``), so that a right withdrawn a moment ago no longer works."""
    company = Company.objects.select_for_update().get(pk=actor.company_id)
    current = (
        Representative.objects.filter(pk=actor.pk, company=company, is_active=True)
        .select_related("user")
        .first()
    )
    if current is None or (admin and not current.is_admin):
        raise PermissionDenied
    return company, current
