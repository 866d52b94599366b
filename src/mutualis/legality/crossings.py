"""The legality context's reads across members (``registry.crossing``): the background
jobs of the transmission and of the return channel work for every member at once, and
the operator's monitoring counts over all of them. Each returns plain values; the work
on one act is then done inside that member's scope."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django_scopes import scopes_disabled

from mutualis.core.models import Organisation
from mutualis.core.registry import crossing

from .models import Act, ActStatus, InboundMessage, InboundStatus, TransmissionAttempt


@crossing
def due_acts(now: datetime, limit: int) -> list[tuple[int, int]]:
    """The waiting acts whose next attempt is due, oldest first, as ``(act id,
    organisation id)``: the sending job claims each in its member's scope."""
    with scopes_disabled():
        rows = (
            Act.objects.filter(status=ActStatus.WAITING, package__isnull=False)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("updated_at", "pk")
            .values_list("pk", "organisation_id")[:limit]
        )
        return [(pk, organisation_id) for pk, organisation_id in rows]


@crossing
def volume_sent_since(since: datetime) -> int:
    """Bytes of the packages that left since ``since``, every member together: the
    operator's hourly cap counts them."""
    with scopes_disabled():
        total = Act.objects.filter(sent_at__gte=since).aggregate(total=Sum("package__size"))
        return int(total["total"] or 0)


@crossing
def member_of_siren(siren: str) -> int | None:
    """The member a message of the prefecture names by its SIREN (none, or several:
    the message cannot be routed)."""
    with scopes_disabled():
        found = list(Organisation.objects.filter(siren=siren).values_list("pk", flat=True)[:2])
        return found[0] if len(found) == 1 else None


@dataclasses.dataclass(frozen=True)
class Monitoring:
    waiting: int
    retrying: int
    sent_unacknowledged: int
    errors: int
    quarantined: int
    attempts_last_hour: int
    failed_attempts_last_hour: int


@crossing
def monitoring(now: datetime, unacknowledged_after: timedelta) -> Monitoring:
    """The operator's figures: acts waiting (and retrying), sent but not acknowledged
    after ``unacknowledged_after``, in error, messages in quarantine, attempts of the
    last hour."""
    with scopes_disabled():
        hour = now - timedelta(hours=1)
        attempts = TransmissionAttempt.objects.filter(made_at__gte=hour)
        return Monitoring(
            waiting=Act.objects.filter(status=ActStatus.WAITING).count(),
            retrying=Act.objects.filter(status=ActStatus.WAITING, send_attempts__gt=0).count(),
            sent_unacknowledged=Act.objects.filter(
                status=ActStatus.SENT, sent_at__lt=now - unacknowledged_after
            ).count(),
            errors=Act.objects.filter(status=ActStatus.ERROR).count(),
            quarantined=InboundMessage.objects.filter(status=InboundStatus.QUARANTINED).count(),
            attempts_last_hour=attempts.count(),
            failed_attempts_last_hour=attempts.filter(outcome__in=["retry", "failed"]).count(),
        )


@crossing
def late_acts(now: datetime, unacknowledged_after: timedelta) -> list[dict[str, object]]:
    """The acts sent but not acknowledged after ``unacknowledged_after``, and those in
    error, for the operator's list."""
    with scopes_disabled():
        rows = (
            Act.objects.filter(
                Q(status=ActStatus.SENT, sent_at__lt=now - unacknowledged_after)
                | Q(status=ActStatus.ERROR)
            )
            .order_by("status", "sent_at", "pk")
            .values("pk", "organisation__name", "identifier", "status", "sent_at", "error_reason")
        )
        return [dict(row) for row in rows[:200]]


@crossing
def quarantine(limit: int = 200) -> list[dict[str, object]]:
    """The messages of the return channel kept aside, newest first."""
    with scopes_disabled():
        rows = (
            InboundMessage.objects.filter(status=InboundStatus.QUARANTINED)
            .order_by("-received_at", "-pk")
            .values("pk", "received_at", "message_id", "reason", "sha256")
        )
        return [dict(row) for row in rows[:limit]]
