"""Where the legality context reads across members, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py`` (a test checks it).

The public verification page of an acknowledged act is reached by anyone holding its
stamp: the visitor names no member, only the act's random token. These crossings find
the act by that token alone, only once it is acknowledged, and hand out the public facts
of it (never its subject or its agents), evaluated.

The background jobs of the transmission and of the return channel work for every member
at once, and the operator's monitoring counts over all of them: those crossings return
plain values; the work on one act is then done inside that member's scope.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, timedelta

from django.db.models import Q, Sum
from django_scopes import scopes_disabled

from mutualis.core.models import AuditCheckpoint, AuditEvent, Organisation, StoredFile
from mutualis.core.registry import crossing

from . import publication
from .models import (
    Act,
    ActStatus,
    InboundMessage,
    InboundStatus,
    Letter,
    LetterStatus,
    OutboundMessage,
    OutboundStatus,
    TransmissionAttempt,
)


@dataclasses.dataclass(frozen=True)
class PublicFile:
    role: str
    file: StoredFile


@dataclasses.dataclass(frozen=True)
class PublicStamp:
    file: StoredFile
    published_on: date | None
    created_at: datetime
    current: bool


@dataclasses.dataclass(frozen=True)
class AuditProof:
    """Where the acknowledgement sits on the member's hash chain, and the first signed
    checkpoint of that chain that covers it (None until the next checkpoint job)."""

    chain: str
    sequence: int
    hash: str
    occurred_at: datetime
    checkpoint: AuditCheckpoint | None


@dataclasses.dataclass(frozen=True)
class Verification:
    identifier: str
    member: str
    siren: str
    received_on: date
    published_on: date | None
    files: list[PublicFile]
    stamps: list[PublicStamp]
    acknowledgement: AuditProof | None

    @property
    def published(self) -> bool:
        return self.published_on is not None


def _acknowledged(token: str) -> Act | None:
    if not token:
        return None
    return (
        Act.objects.filter(verification_token=token, status=ActStatus.ACKNOWLEDGED)
        .exclude(verification_token="")
        .select_related("organisation", "document", "document_signature")
        .first()
    )


def _proof(act: Act) -> AuditProof | None:
    event = (
        AuditEvent.objects.filter(
            organisation_id=act.organisation_id,
            action="legality.act_acknowledged",
            object_type="legality.act",
            object_id=str(act.pk),
        )
        .order_by("-sequence")
        .first()
    )
    if event is None:
        return None
    checkpoint = (
        AuditCheckpoint.objects.filter(chain=event.chain, sequence__gte=event.sequence)
        .order_by("sequence", "signed_at")
        .first()
    )
    return AuditProof(event.chain, event.sequence, event.hash, event.occurred_at, checkpoint)


@crossing
def verification_of(token: str) -> Verification | None:
    """The public verification page: anyone holding an acknowledged act's stamp (its QR
    code) reads the act's identifier, member, reception date and the fingerprints of its
    files, found by the act's random token alone."""
    with scopes_disabled():
        act = _acknowledged(token)
        if act is None or act.received_on is None:
            return None
        stamps = list(act.stamps.select_related("file"))
        return Verification(
            identifier=act.identifier,
            member=act.organisation.name,
            siren=act.organisation.siren,
            received_on=act.received_on,
            published_on=act.published_on,
            files=[PublicFile(role, f) for role, f in publication.transmitted_files(act)],
            stamps=[
                PublicStamp(s.file, s.published_on, s.created_at, index == 0)
                for index, s in enumerate(stamps)
            ],
            acknowledgement=_proof(act),
        )


@crossing
def published_file_of(token: str, file_id: uuid.UUID) -> StoredFile | None:
    """A file of a published act, downloaded from its public verification page: once
    the member recorded the publication, the act's files and stamps are public."""
    with scopes_disabled():
        act = _acknowledged(token)
        if act is None or act.published_on is None:
            return None
        allowed = [f for _role, f in publication.transmitted_files(act)]
        allowed += [s.file for s in act.stamps.select_related("file")]
        return next((f for f in allowed if f.pk == file_id), None)


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
def due_messages(now: datetime, limit: int) -> list[tuple[int, int]]:
    """The member's other waiting messages (answers, cancellations, classification
    requests) whose attempt is due, oldest first, as ``(message id, organisation id)``."""
    with scopes_disabled():
        rows = (
            OutboundMessage.objects.filter(status=OutboundStatus.WAITING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("created_at", "pk")
            .values_list("pk", "organisation_id")[:limit]
        )
        return [(pk, organisation_id) for pk, organisation_id in rows]


@crossing
def letters_to_remind(until: date) -> list[tuple[int, int]]:
    """The open letters whose answer is due by ``until`` and whose last reminder is not
    the "due" one, as ``(letter id, organisation id)``: the reminder job handles each
    in its member's scope."""
    with scopes_disabled():
        rows = (
            Letter.objects.filter(status=LetterStatus.OPEN, due_on__lte=until)
            .exclude(reminder="due")
            .order_by("due_on", "pk")
            .values_list("pk", "organisation_id")
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


@crossing
def members_of_sirens(sirens: set[str]) -> dict[str, int]:
    """The members a batch of the prefecture's messages names by their SIRENs, in one
    query (``member_of_siren`` for each): a SIREN that names no member, or several, is
    left out (its messages cannot be routed)."""
    found: dict[str, list[int]] = {}
    with scopes_disabled():
        for pk, siren in Organisation.objects.filter(siren__in=sirens).values_list("pk", "siren"):
            found.setdefault(siren, []).append(pk)
    return {siren: pks[0] for siren, pks in found.items() if len(pks) == 1}


# An act or a PES flow sent and not acknowledged after this is late on the operator's
# monitoring (its page and the API's figures).
UNACKNOWLEDGED_AFTER = timedelta(hours=4)


@dataclasses.dataclass(frozen=True)
class Monitoring:
    waiting: int
    retrying: int
    sent_unacknowledged: int
    errors: int
    quarantined: int
    attempts_last_hour: int
    failed_attempts_last_hour: int
    pes: PesMonitoring


@dataclasses.dataclass(frozen=True)
class PesMonitoring:
    """The accounting flows' figures: flows waiting for the gateway (and those being
    retried), sent but not acknowledged after the same threshold as the acts, in
    error; files of the gateway's outbox in quarantine; returns whose
    acknowledgement has not left (waiting or retrying, and in error)."""

    waiting: int
    retrying: int
    sent_unacknowledged: int
    errors: int
    quarantined: int
    returns_unacknowledged: int
    returns_ack_errors: int


def _pes_monitoring(now: datetime, unacknowledged_after: timedelta) -> PesMonitoring:
    from .pes.models import (
        AcquitRetourStatus,
        FlowStatus,
        PesFlow,
        PesInbound,
        PesInboundStatus,
        PesReturn,
    )

    return PesMonitoring(
        waiting=PesFlow.objects.filter(status=FlowStatus.SIGNED).count(),
        retrying=PesFlow.objects.filter(status=FlowStatus.SIGNED, send_attempts__gt=0).count(),
        sent_unacknowledged=PesFlow.objects.filter(
            status=FlowStatus.SENT, sent_at__lt=now - unacknowledged_after
        ).count(),
        errors=PesFlow.objects.filter(status=FlowStatus.ERROR).count(),
        quarantined=PesInbound.objects.filter(status=PesInboundStatus.QUARANTINED).count(),
        returns_unacknowledged=PesReturn.objects.filter(
            ack_status=AcquitRetourStatus.TO_SEND
        ).count(),
        returns_ack_errors=PesReturn.objects.filter(ack_status=AcquitRetourStatus.ERROR).count(),
    )


@crossing
def monitoring(now: datetime, unacknowledged_after: timedelta) -> Monitoring:
    """The operator's figures: acts waiting (and retrying), sent but not acknowledged
    after ``unacknowledged_after``, in error, messages in quarantine, attempts of the
    last hour; and the same of the PES flows, with the returns whose acknowledgement
    has not left."""
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
            pes=_pes_monitoring(now, unacknowledged_after),
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


# --- Webhook deliveries and PES flows (background jobs for every member) -----------------


@crossing
def due_webhook_deliveries(now: datetime, limit: int) -> list[tuple[int, int]]:
    """The webhook deliveries due now, oldest first: (id, member) pairs; each attempt is
    then made inside that member's scope (``webhooks.deliver``)."""
    from .models import DeliveryStatus, WebhookDelivery

    with scopes_disabled():
        return [
            (int(pk), int(organisation_id))
            for pk, organisation_id in WebhookDelivery.objects.filter(
                status=DeliveryStatus.PENDING, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "organisation_id")[:limit]
        ]


@crossing
def webhook_delivery_member(delivery_id: int) -> int | None:
    """The member a webhook delivery belongs to (a job given only its id)."""
    from .models import WebhookDelivery

    with scopes_disabled():
        found = (
            WebhookDelivery.objects.filter(pk=delivery_id)
            .values_list("organisation_id", flat=True)
            .first()
        )
    return int(found) if found is not None else None


@crossing
def pes_flows_to_send(now: datetime, batch: int) -> list[tuple[int, int]]:
    """The signed PES flows waiting for the gateway: (flow, member) pairs, oldest first;
    each is then sent inside its member's scope."""
    from .pes.models import FlowStatus, PesFlow

    with scopes_disabled():
        return [
            (int(pk), int(organisation_id))
            for pk, organisation_id in PesFlow.objects.filter(status=FlowStatus.SIGNED)
            .exclude(next_attempt_at__gt=now)
            .order_by("signed_at", "pk")
            .values_list("pk", "organisation_id")[:batch]
        ]


@crossing
def pes_acquits_retour_to_send(now: datetime, batch: int) -> list[tuple[int, int]]:
    """The members' acknowledgements of the treasury's returns waiting for the
    gateway: (return, member) pairs, oldest first; each is then deposited inside its
    member's scope."""
    from .pes.models import AcquitRetourStatus, PesReturn

    with scopes_disabled():
        return [
            (int(pk), int(organisation_id))
            for pk, organisation_id in PesReturn.objects.filter(
                ack_status=AcquitRetourStatus.TO_SEND, ack_file__isnull=False
            )
            .exclude(ack_next_attempt_at__gt=now)
            .order_by("received_at", "pk")
            .values_list("pk", "organisation_id")[:batch]
        ]


@crossing
def pes_quarantine(limit: int = 200) -> list[dict[str, object]]:
    """The files of the treasury gateway's outbox kept aside (neither a valid
    ``PES_ACQUIT`` nor a valid ``PES_Retour``, or for no member), newest first."""
    from .pes.models import PesInbound, PesInboundStatus

    with scopes_disabled():
        rows = (
            PesInbound.objects.filter(status=PesInboundStatus.QUARANTINED)
            .order_by("-received_at", "-pk")
            .values("pk", "received_at", "name", "reason", "sha256")
        )
        return [dict(row) for row in rows[:limit]]
