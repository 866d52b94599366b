"""The outbox, as operator staff handle it: a failed e-mail sent again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from mutualis.core import audit, errors
from mutualis.core.models import OutgoingEmail
from mutualis.core.permissions import require_operator
from mutualis.core.tasks import send_outgoing_email


@transaction.atomic(durable=True)
def retry_email(
    *,
    actor: Any,
    email_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> OutgoingEmail:
    """Queue a failed e-mail again: one more attempt now (the attempts made are kept, so a
    new failure marks it failed again at once rather than restarting the back-off)."""
    require_operator(actor)
    email = OutgoingEmail.objects.select_for_update().get(pk=email_id)
    if email.status != OutgoingEmail.Status.FAILED:
        raise errors.EmailNotFailed()
    if email.links_removed:
        # Sending it would deliver markers instead of the links, which are gone.
        raise errors.EmailLinksRemoved()
    email.status = OutgoingEmail.Status.QUEUED
    email.next_attempt_at = timezone.now()
    email.save(update_fields=["status", "next_attempt_at"])
    # The outbox is the platform's, not a member's: the platform chain. The person is
    # passed rather than the membership, since ``record`` files a membership's events
    # under its organisation (the operator's own chain).
    audit.record(
        actor=actor.user,
        chain=audit.PLATFORM_CHAIN,
        action="email.retried",
        target=email,
        payload={"attempts": email.attempts},
        **dict(request_context or {}),
    )
    transaction.on_commit(lambda: send_outgoing_email.enqueue(email_id=email.pk))
    return email
