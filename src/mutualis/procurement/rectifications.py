"""Rectifying a published consultation: what is published is never edited in place.

A buyer rectifies before the deadline for responses: a summary of what changes (public),
any of the fields in ``RECTIFIABLE_FIELDS``, the deadlines (each one moved must be in the
future, questions before responses), files added and files withdrawn. One transaction on
the locked consultation: its ``version`` goes up by one, a ``Rectification`` row keeps
each changed value before and after, withdrawn files leave the current set (they stay
listed, with their hash, in the public history), ``next_check`` follows the new deadline
(``transitions.next_check``), one event goes to the member's audit chain, and
``signals.rectification_published`` is sent once committed (the downloaders are told).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import errors, signals, transitions
from .documents import Upload, current_documents, store_documents
from .models import Rectification, State
from .services import locked_consultation, record_event, require_buyer
from .text import sanitise

RECTIFIABLE_FIELDS = ("title", "object", "description", "place_of_execution", "contact")


@dataclasses.dataclass(frozen=True)
class RectificationInput:
    """What a rectification changes. ``fields`` holds the new values of the fields in
    ``RECTIFIABLE_FIELDS`` (a value equal to the current one is no change); a deadline
    left at None is not moved (UTC otherwise)."""

    summary: str
    fields: dict[str, str] = dataclasses.field(default_factory=dict)
    questions_deadline: datetime | None = None
    response_deadline: datetime | None = None
    add: Sequence[Upload] = ()
    withdraw: Sequence[int] = ()


@transaction.atomic(durable=True)
def rectify_consultation(
    *,
    actor: Any,
    consultation_id: int,
    data: RectificationInput,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Rectification:
    """Publish the next version of a published consultation of the actor's member."""
    now = now or timezone.now()
    require_buyer(actor)
    summary = data.summary.strip()
    if not summary:
        raise errors.RectificationSummaryRequired()
    consultation = locked_consultation(actor, consultation_id)
    if consultation.state == State.CLOSED:
        raise errors.RectificationTooLate()
    if consultation.state != State.PUBLISHED:
        raise errors.RectificationNotAllowed()
    # Checked on the clock, not on the state the job records up to a minute later.
    if now >= consultation.response_deadline:
        raise errors.RectificationTooLate()

    changes: dict[str, dict[str, str]] = {}
    for field, value in data.fields.items():
        if field not in RECTIFIABLE_FIELDS:
            raise ValueError(f"{field!r} cannot be rectified")
        new = sanitise(value) if field == "description" else value.strip()
        before = getattr(consultation, field)
        if new != before:
            changes[field] = {"before": before, "after": new}
            setattr(consultation, field, new)

    deadlines_moved = _move_deadlines(consultation, data, now=now, changes=changes)

    wanted = set(data.withdraw)
    withdrawn = [d for d in current_documents(consultation) if d.pk in wanted]
    if len(withdrawn) != len(wanted):
        raise errors.DocumentNotCurrent()
    if not changes and not data.add and not withdrawn:
        raise errors.RectificationEmpty()

    consultation.version += 1
    for document in withdrawn:
        document.withdrawn_in_version = consultation.version
        document.withdrawn_at = now
        document.save(update_fields=["withdrawn_in_version", "withdrawn_at"])
    added = store_documents(consultation, data.add, version=consultation.version)
    # Through the transition table's own rule: the job next looks at the new deadline.
    consultation.next_check = transitions.next_check(consultation)
    consultation.save()  # the whole row: the public search follows the new text
    rectification = Rectification.objects.create(
        organisation_id=consultation.organisation_id,
        consultation=consultation,
        number=consultation.version - 1,
        published_at=now,
        summary=summary,
        changes=changes,
        deadlines_moved=deadlines_moved,
    )
    record_event(
        consultation,
        actor=actor,
        action="consultation.rectified",
        payload={
            "rectification": rectification.pk,
            "version": consultation.version,
            "fields": sorted(changes),
            "documents_added": [
                {"document": d.pk, "sha256": d.file.sha256, "size": d.file.size} for d in added
            ],
            "documents_withdrawn": [d.pk for d in withdrawn],
        },
        request_context=request_context,
    )
    signals.send_on_commit(
        signals.rectification_published,
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
        rectification_id=rectification.pk,
    )
    return rectification


def _move_deadlines(
    consultation: Any,
    data: RectificationInput,
    *,
    now: datetime,
    changes: dict[str, dict[str, str]],
) -> bool:
    moved = {
        field: new
        for field, new in (
            ("questions_deadline", data.questions_deadline),
            ("response_deadline", data.response_deadline),
        )
        if new is not None and new != getattr(consultation, field)
    }
    if not moved:
        return False
    if any(new <= now for new in moved.values()):
        raise errors.DeadlineInPast()
    questions = moved.get("questions_deadline", consultation.questions_deadline)
    responses = moved.get("response_deadline", consultation.response_deadline)
    if questions >= responses:
        raise errors.QuestionsAfterResponses()
    for field, new in moved.items():
        changes[field] = {
            "before": getattr(consultation, field).isoformat(),
            "after": new.isoformat(),
        }
        setattr(consultation, field, new)
    return True
