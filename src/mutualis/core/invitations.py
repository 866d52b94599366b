"""One invitation mechanism for every context that invites people by e-mail (an
organisation its agents, a company its colleagues).

A context's invitation model derives from ``Invitation``; its services call the
functions below, inside the scope of the inviting organisation or company, and keep for
themselves who may invite, what accepting gives, and the audit events. The link carries
a random token (256 bits); only its SHA-256 digest is stored, so that reading the table
(a backup, the back office) never gives a working link. A plain digest is enough for a
secret of that size, unlike a password, and lets the lookup use the unique index.

The token starts with the number of the organisation or company that invites: the
public page of the link looks the invitation up inside that one tenant's scope, like
any other tenant query, instead of crossing every tenant. A forged number only changes
which scope is searched; the digest still has to match.

A link is good once, until ``expires_at`` (``MUTUALIS_INVITATION_DAYS`` after it was
sent): accepting locks the row, so two clicks (or two tabs) use it up once and the
second one is told it is used. Refusals raise the errors of ``core.errors``
(``invitation_not_found``, ``_expired``, ``_revoked``, ``_used``, ``_not_open``,
``_other_address``), the same codes whichever context invited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import errors

TOKEN_BYTES = 32  # 256 bits of randomness
MAX_OWNER_DIGITS = 18


class Invitation(models.Model):
    """What every invitation holds: the invited address, the token's digest, its
    lifetime and how it ended (accepted or revoked, never both)."""

    email = models.EmailField(_("e-mail address"))
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_open(self) -> bool:
        """Neither accepted nor revoked (it may have expired)."""
        return self.accepted_at is None and self.revoked_at is None

    def has_expired(self, now: datetime | None = None) -> bool:
        return (now or timezone.now()) >= self.expires_at

    def refusal(self, now: datetime | None = None) -> errors.InvitationError | None:
        """Why the link no longer works, or None while it does."""
        if self.accepted_at is not None:
            return errors.InvitationUsed()
        if self.revoked_at is not None:
            return errors.InvitationRevoked()
        if self.has_expired(now):
            return errors.InvitationExpired()
        return None


AnyInvitation = TypeVar("AnyInvitation", bound=Invitation)


def open_condition() -> Q:
    """Invitations neither accepted nor revoked, expired ones included, as a filter."""
    return Q(accepted_at__isnull=True, revoked_at__isnull=True)


def not_both_condition() -> Q:
    """The check constraint of every invitation table: accepted or revoked, not both."""
    return Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True)


# --- Tokens ----------------------------------------------------------------------------


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(owner_id: int) -> tuple[str, str]:
    """A new link token for an invitation of ``owner_id`` (an organisation's or a
    company's number), and the digest to store."""
    token = f"{owner_id}.{secrets.token_urlsafe(TOKEN_BYTES)}"
    return token, digest(token)


def owner_of(token: str) -> int:
    """The number at the head of a token; ``InvitationNotFound`` when it has none."""
    prefix, dot, secret = (token or "").partition(".")
    if not (dot and secret and prefix.isascii() and prefix.isdigit()):
        raise errors.InvitationNotFound()
    if len(prefix) > MAX_OWNER_DIGITS:
        raise errors.InvitationNotFound()
    return int(prefix)


def validity_days() -> int:
    """How long a link works (``MUTUALIS_INVITATION_DAYS``), read at each use."""
    return int(settings.MUTUALIS_INVITATION_DAYS)


def expiry(now: datetime) -> datetime:
    """When a link sent at ``now`` stops working."""
    return now + timedelta(days=validity_days())


# --- Reading and using a link ----------------------------------------------------------


def find_usable(queryset: QuerySet[AnyInvitation], token: str) -> AnyInvitation:
    """The invitation a token opens, from ``queryset`` (the inviting tenant's rows), if
    its link still works; else the error that says why not."""
    invitation = queryset.filter(token_digest=digest(token)).first()
    if invitation is None:
        raise errors.InvitationNotFound()
    refusal = invitation.refusal()
    if refusal is not None:
        raise refusal
    return invitation


def lock_usable(queryset: QuerySet[AnyInvitation], token: str) -> AnyInvitation:
    """``find_usable`` with the invitation's row locked until the end of the transaction:
    the step before using the link up, so that it is used once."""
    return find_usable(queryset.select_for_update(of=("self",)), token)


def mark_accepted(invitation: Invitation, *, now: datetime, **fields: Any) -> None:
    """Use a locked invitation up; ``fields`` are the context's own (who accepted, what
    it gave)."""
    invitation.accepted_at = now
    for name, value in fields.items():
        setattr(invitation, name, value)
    invitation.save(update_fields=["accepted_at", *fields])


def revoke(invitation: Invitation, *, now: datetime) -> None:
    """Withdraw a locked invitation; ``InvitationNotOpen`` if it was accepted or
    withdrawn already."""
    if not invitation.is_open:
        raise errors.InvitationNotOpen()
    invitation.revoked_at = now
    invitation.save(update_fields=["revoked_at"])


def withdraw_open(queryset: QuerySet[AnyInvitation], *, now: datetime) -> list[AnyInvitation]:
    """Withdraw the open invitations of ``queryset`` (those to an address a new one is
    sent to: the last link sent is the only one that works), locked in key order, and
    return them for the caller's events."""
    replaced = list(queryset.filter(open_condition()).select_for_update().order_by("pk"))
    for old in replaced:
        revoke(old, now=now)
    return replaced
