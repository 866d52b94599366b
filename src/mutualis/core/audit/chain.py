"""Audit chains: hashing rules, recording events, erasing a person's identity."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from mutualis.core.models import (
    AuditChainHead,
    AuditEvent,
    AuditEventContext,
    AuditSubject,
    Organisation,
)
from mutualis.core.network import client_address

# The actors come from the contexts above core (a membership, a person, a company's
# representative): core knows them only by the attributes it reads.
Actor = Any


PLATFORM_CHAIN = "platform"
GENESIS_HASH = "0" * 64
# Tags the hashed and signed material, so that a future format can never be mistaken
# for this one.
EVENT_FORMAT = "mutualis-audit-event/1"
# Format 2 signs the instance's identifier with the head; format 1, which names no
# instance, is still verified for the checkpoints signed before it.
CHECKPOINT_FORMAT = "mutualis-audit-checkpoint/2"
LEGACY_CHECKPOINT_FORMAT = "mutualis-audit-checkpoint/1"


def organisation_chain(organisation_id: int) -> str:
    return f"org:{organisation_id}"


def company_chain(company_id: int) -> str:
    return f"company:{company_id}"


@dataclasses.dataclass(frozen=True)
class SystemActor:
    """A background job or command acting on its own (``system:<name>`` in the trail)."""

    name: str

    @property
    def reference(self) -> str:
        return f"system:{self.name}"


SYSTEM = SystemActor("platform")


# --- Hashing ---------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8.

    NaN and infinities are refused: neither JSON nor PostgreSQL's jsonb stores them, so
    their digest could never be recomputed from the stored payload.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=str,
    ).encode()


def normalise_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """The payload as the database gives it back: tuples become lists, keys strings,
    dates and decimals strings. Hashing this form, not the caller's objects, lets
    verification recompute the digest from the stored row."""
    return json.loads(canonical_json(payload or {}))  # type: ignore[no-any-return]


def payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def event_hash(
    *,
    chain: str,
    sequence: int,
    prev_hash: str,
    occurred_at: datetime,
    organisation_id: int | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    digest: str,
) -> str:
    # A JSON array, not a joined string: no separator can be smuggled into a field. The
    # organisation is hashed too, since it decides which member may read the event.
    material = [
        EVENT_FORMAT,
        chain,
        sequence,
        prev_hash,
        occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        organisation_id,
        actor,
        action,
        object_type,
        object_id,
        digest,
    ]
    return hashlib.sha256(canonical_json(material)).hexdigest()


def hash_of(event: AuditEvent) -> str:
    """The hash an event should carry, recomputed from its stored fields."""
    return event_hash(
        chain=event.chain,
        sequence=event.sequence,
        prev_hash=event.prev_hash,
        occurred_at=event.occurred_at,
        organisation_id=event.organisation_id,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        digest=event.payload_digest,
    )


# --- Recording -------------------------------------------------------------------------


def _actor_reference(actor: Actor | SystemActor | None) -> tuple[str, Any]:
    """The pseudonymous reference of an actor, and the user behind it if any."""
    if actor is None:
        return SYSTEM.reference, None
    if isinstance(actor, SystemActor):
        return actor.reference, None
    user = getattr(actor, "user", actor)
    return subject_reference(user.audit_pseudonym), user


def subject_reference(pseudonym: uuid.UUID | str) -> str:
    """How a person appears in the ``actor`` field of the events."""
    return f"user:{uuid.UUID(str(pseudonym))}"


def _remember_subject(user: Any) -> None:
    name = user.get_full_name() or user.email
    subject, created = AuditSubject.objects.get_or_create(
        pseudonym=user.audit_pseudonym, defaults={"display_name": name, "email": user.email}
    )
    # Erasure is final: a late write (a job finishing after the account was deleted)
    # must not bring the name back.
    if created or subject.erased_at is not None:
        return
    if (subject.display_name, subject.email) != (name, user.email):
        subject.display_name, subject.email = name, user.email
        subject.save(update_fields=["display_name", "email"])


def record(
    *,
    actor: Actor | SystemActor | None,
    action: str,
    organisation: Organisation | None = None,
    chain: str | None = None,
    target: Any = None,
    payload: dict[str, Any] | None = None,
    source_address: str | None = None,
    user_agent: str = "",
) -> AuditEvent:
    """Append an event to a chain, inside the caller's transaction.

    The chain is the organisation's when one is given (or the acting membership's),
    else the platform's; ``chain`` names another one. A company's events always name
    their chain (``company_chain``): an actor acting for a company (a representative)
    without it is refused, so that a company's event never lands on the platform's or
    an organisation's chain. The payload must be
    JSON (identifiers, amounts as strings, no names); floats are best avoided, as
    PostgreSQL may print a large one back differently.
    """
    return record_many(
        [
            PendingEvent(
                actor=actor,
                action=action,
                organisation=organisation,
                chain=chain,
                target=target,
                payload=payload,
                source_address=source_address,
                user_agent=user_agent,
            )
        ]
    )[0]


@dataclasses.dataclass(frozen=True)
class PendingEvent:
    """One event for ``record_many``: the arguments ``record`` takes."""

    actor: Actor | SystemActor | None
    action: str
    organisation: Organisation | None = None
    chain: str | None = None
    target: Any = None
    payload: dict[str, Any] | None = None
    source_address: str | None = None
    user_agent: str = ""


def record_many(events: Sequence[PendingEvent]) -> list[AuditEvent]:
    """Append ``events``, in order, inside the caller's transaction: what calling
    ``record`` for each would write, in a few statements.

    Each chain's head is locked once (the chains in name order, so that two batch
    writers never wait for each other crosswise), the sequence numbers and hashes are
    computed in order from it, the events inserted together, then the heads saved. The
    same rules as ``record`` apply to each event (a company representative's event must
    name the company's chain).
    """
    prepared = []
    for spec in events:
        actor, organisation, chain = spec.actor, spec.organisation, spec.chain
        company_id = getattr(actor, "company_id", None)
        if company_id is not None and chain != company_chain(company_id):
            raise ValueError("A company representative's event must name the company's chain.")
        if organisation is None and actor is not None and hasattr(actor, "organisation_id"):
            organisation = actor.organisation
        if chain is None:
            chain = organisation_chain(organisation.pk) if organisation else PLATFORM_CHAIN
        payload = normalise_payload(spec.payload)
        reference, user = _actor_reference(actor)
        prepared.append(
            (spec, chain, payload, payload_digest(payload), reference, user, organisation)
        )
    if not prepared:
        return []
    # No savepoint inside the caller's transaction (two statements per call saved on
    # every audited change): an error here leaves the caller's whole transaction, which
    # rolls back with its change; a call outside any transaction still gets its own.
    with transaction.atomic(savepoint=False):
        # The lock on a head serialises the writers of its chain: the second waits,
        # then reads the head the first one committed (a fresh snapshot under READ
        # COMMITTED), so no two events ever share a sequence or a previous hash. Two
        # writers creating the same head collide on its primary key; get_or_create
        # then reads the winner's row.
        names = sorted({chain for _spec, chain, *_rest in prepared})
        heads = {
            head.chain: head
            for head in AuditChainHead.objects.select_for_update()
            .filter(chain__in=names)
            .order_by("chain")
        }
        for name in names:
            if name not in heads:
                heads[name], _created = AuditChainHead.objects.select_for_update().get_or_create(
                    chain=name, defaults={"sequence": 0, "hash": GENESIS_HASH}
                )
        rows = []
        for spec, chain, payload, digest, reference, _user, organisation in prepared:
            head = heads[chain]
            target = spec.target
            object_type = target._meta.label_lower if target is not None else ""
            object_id = str(target.pk) if target is not None else ""
            organisation_id = organisation.pk if organisation is not None else None
            sequence = head.sequence + 1
            occurred_at = timezone.now()
            current = event_hash(
                chain=chain,
                sequence=sequence,
                prev_hash=head.hash,
                occurred_at=occurred_at,
                organisation_id=organisation_id,
                actor=reference,
                action=spec.action,
                object_type=object_type,
                object_id=object_id,
                digest=digest,
            )
            rows.append(
                AuditEvent(
                    chain=chain,
                    sequence=sequence,
                    organisation_id=organisation_id,
                    occurred_at=occurred_at,
                    actor=reference,
                    action=spec.action,
                    object_type=object_type,
                    object_id=object_id,
                    payload=payload,
                    payload_digest=digest,
                    prev_hash=head.hash,
                    hash=current,
                )
            )
            head.sequence, head.hash = sequence, current
        created = AuditEvent.objects.bulk_create(rows)
        if len(heads) == 1:
            # One chain (every use case's own event): a plain UPDATE, which Django builds
            # in half the time of bulk_update's CASE WHEN.
            [head] = heads.values()
            AuditChainHead.objects.filter(chain=head.chain).update(
                sequence=head.sequence, hash=head.hash
            )
        else:
            AuditChainHead.objects.bulk_update(list(heads.values()), ["sequence", "hash"])
        remembered = set()
        for _spec, _chain, _payload, _digest, reference, user, _organisation in prepared:
            if user is not None and reference not in remembered:
                remembered.add(reference)
                _remember_subject(user)
        contexts = [
            AuditEventContext(
                event=event,
                source_address=spec.source_address or None,
                user_agent=spec.user_agent[:300],
            )
            for event, (spec, *_rest) in zip(created, prepared, strict=True)
            if spec.source_address or spec.user_agent
        ]
        if contexts:
            AuditEventContext.objects.bulk_create(contexts)
    return created


def request_context(request: Any) -> dict[str, Any]:
    """Source address and browser of a request, for ``record(**request_context(r))``."""
    return {
        "source_address": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def erase_subject(pseudonym: uuid.UUID | str) -> int:
    """Erase what the trail knows of a person: name, e-mail, the context of their events.

    The events keep the bare pseudonym, so every chain stays intact. Runs inside the
    caller's transaction (account deletion records its own event). Returns the number
    of event contexts deleted.
    """
    with transaction.atomic():
        AuditSubject.objects.update_or_create(
            pseudonym=uuid.UUID(str(pseudonym)),
            defaults={"display_name": "", "email": "", "erased_at": timezone.now()},
        )
        deleted, _by_model = AuditEventContext.objects.filter(
            event__actor=subject_reference(pseudonym)
        ).delete()
    return deleted


# --- Signing key -----------------------------------------------------------------------
