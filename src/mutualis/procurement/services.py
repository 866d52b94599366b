"""Use cases of the procurement context: a buyer drafts a consultation, its lots and award
criteria, schedules, publishes or cancels it; the periodic job publishes the scheduled
ones whose time came and closes those whose deadline passed.

Each use case runs in one transaction, rereads its consultation locked inside the acting
member (another member's id is not found), and appends one event to that member's audit
chain. A buyer acts through their membership (the request's ``membership``): the role
``buyer`` and an active subscription to ``procurement`` are checked here, since a job or
an API may call these functions without a page's guards. The job acts as the named system
actor ``ADVANCE_ACTOR``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit, cpv
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription

from . import crossings, errors, signals, transitions
from .models import AwardCriterion, CancellationKind, Consultation, Lot, State
from .text import sanitise
from .transitions import Event

SERVICE = "procurement"
BUYER = "buyer"
ADVANCE_ACTOR = audit.SystemActor("procurement.advance_consultations")


@dataclasses.dataclass(frozen=True)
class ConsultationInput:
    """What a buyer enters for a consultation (deadlines already in UTC, CPV codes as
    stored: 8 digits)."""

    reference: str
    title: str
    object: str
    procedure: str
    category: str
    main_cpv: str
    questions_deadline: datetime
    response_deadline: datetime
    contact: str
    description: str = ""
    contract_nature: str = "contract"
    additional_cpv: list[str] = dataclasses.field(default_factory=list)
    place_of_execution: str = ""
    estimated_value: Decimal | None = None
    signature_required: bool = False
    ccag: str = ""
    techniques: list[str] = dataclasses.field(default_factory=list)
    execution_modes: list[str] = dataclasses.field(default_factory=list)
    price_types: list[str] = dataclasses.field(default_factory=list)
    price_form: str = ""
    social_considerations: list[str] = dataclasses.field(default_factory=list)
    environmental_considerations: list[str] = dataclasses.field(default_factory=list)
    innovative: bool = False
    advance_payment: bool = False
    duration_months: int | None = None
    negotiation_reserved: bool = False


@dataclasses.dataclass(frozen=True)
class LotInput:
    number: int
    title: str
    description: str = ""
    cpv_codes: list[str] = dataclasses.field(default_factory=list)
    estimated_value: Decimal | None = None


def require_buyer(actor: Any) -> None:
    """The guard of every buyer's use case of this context (documents, rectifications,
    groups, the library, the ESPD selection, copies, answers too): ``actor`` holds the
    role ``buyer`` and its organisation subscribes to procurement."""
    require_role(actor, BUYER)
    require_subscription(actor.organisation_id, SERVICE)


def locked_consultation(actor: Any, consultation_id: int) -> Consultation:
    """The consultation ``consultation_id`` of the acting member, locked until the end of
    the use case's transaction (``Consultation.DoesNotExist`` when there is none)."""
    # Inside the acting member: another member's consultation is "not found".
    return Consultation.objects.select_for_update().get(
        pk=consultation_id, organisation_id=actor.organisation_id
    )


def record_event(
    consultation: Consultation,
    *,
    actor: Any,
    action: str,
    payload: dict[str, Any] | None = None,
    request_context: dict[str, Any] | None = None,
) -> None:
    """One event ``action`` on the consultation's member's audit chain, targeting the
    consultation, with its state in the payload."""
    audit.record(
        actor=actor,
        organisation=consultation.organisation,
        action=action,
        target=consultation,
        payload={"state": consultation.state, **(payload or {})},
        **(request_context or {}),
    )


def _check_input(data: ConsultationInput) -> None:
    if data.questions_deadline >= data.response_deadline:
        raise errors.QuestionsAfterResponses()
    codes = [data.main_cpv, *data.additional_cpv]
    if cpv.unknown_codes(codes):
        raise errors.CpvUnknown()


def require_draft(consultation: Consultation) -> None:
    """Refuse (``NotEditable``) to change a consultation that is no longer a draft."""
    if consultation.state != State.DRAFT:
        raise errors.NotEditable()


def _fields(data: ConsultationInput) -> dict[str, Any]:
    fields = dataclasses.asdict(data)
    fields["description"] = sanitise(data.description)
    return fields


# --- Drafting --------------------------------------------------------------------------


@transaction.atomic(durable=True)
def create_consultation(
    *, actor: Any, data: ConsultationInput, request_context: dict[str, Any] | None = None
) -> Consultation:
    """A new draft consultation of the actor's organisation."""
    require_buyer(actor)
    _check_input(data)
    try:
        with transaction.atomic():
            consultation = Consultation.objects.create(
                organisation_id=actor.organisation_id, **_fields(data)
            )
    except IntegrityError:
        raise errors.ReferenceTaken() from None
    record_event(consultation, actor=actor, action="consultation.created",
            request_context=request_context)  # fmt: skip
    return consultation


@transaction.atomic(durable=True)
def update_consultation(
    *,
    actor: Any,
    consultation_id: int,
    data: ConsultationInput,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """Change a draft. Whatever is published is never edited in place."""
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    _check_input(data)
    fields = _fields(data)
    changed = sorted(k for k, v in fields.items() if getattr(consultation, k) != v)
    for key, value in fields.items():
        setattr(consultation, key, value)
    try:
        with transaction.atomic():
            consultation.save()
    except IntegrityError:
        raise errors.ReferenceTaken() from None
    record_event(
        consultation,
        actor=actor,
        action="consultation.updated",
        payload={"fields": changed},
        request_context=request_context,
    )
    return consultation


@transaction.atomic(durable=True)
def add_lot(
    *,
    actor: Any,
    consultation_id: int,
    data: LotInput,
    request_context: dict[str, Any] | None = None,
) -> Lot:
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    if cpv.unknown_codes(data.cpv_codes):
        raise errors.CpvUnknown(field="cpv_codes")
    if consultation.lots.filter(number=data.number).exists():
        raise errors.LotNumberTaken()
    lot = Lot.objects.create(
        organisation_id=consultation.organisation_id,
        consultation=consultation,
        **dataclasses.asdict(data),
    )
    record_event(
        consultation,
        actor=actor,
        action="consultation.lot_added",
        payload={"lot": lot.pk, "number": lot.number},
        request_context=request_context,
    )
    return lot


@transaction.atomic(durable=True)
def remove_lot(
    *,
    actor: Any,
    consultation_id: int,
    lot_id: int,
    request_context: dict[str, Any] | None = None,
) -> None:
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    lot = consultation.lots.get(pk=lot_id)
    number = lot.number
    lot.delete()
    record_event(
        consultation,
        actor=actor,
        action="consultation.lot_removed",
        payload={"lot": lot_id, "number": number},
        request_context=request_context,
    )


@transaction.atomic(durable=True)
def add_criterion(
    *,
    actor: Any,
    consultation_id: int,
    label: str,
    weight: int,
    request_context: dict[str, Any] | None = None,
) -> AwardCriterion:
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    criterion = AwardCriterion.objects.create(
        organisation_id=consultation.organisation_id,
        consultation=consultation,
        label=label,
        weight=weight,
        position=consultation.criteria.count() + 1,
    )
    record_event(
        consultation,
        actor=actor,
        action="consultation.criterion_added",
        payload={"criterion": criterion.pk, "weight": weight},
        request_context=request_context,
    )
    return criterion


@transaction.atomic(durable=True)
def remove_criterion(
    *,
    actor: Any,
    consultation_id: int,
    criterion_id: int,
    request_context: dict[str, Any] | None = None,
) -> None:
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    require_draft(consultation)
    consultation.criteria.get(pk=criterion_id).delete()
    record_event(
        consultation,
        actor=actor,
        action="consultation.criterion_removed",
        payload={"criterion": criterion_id},
        request_context=request_context,
    )


# --- Publication -----------------------------------------------------------------------


def check_publishable(consultation: Consultation, *, now: datetime) -> None:
    """Refuse to publish what a business could not answer properly: deadlines to come,
    questions before responses, lots numbered 1…n (none: the consultation is one lot),
    criteria weighing 100 % in all (none: the award rules are in the documents), every
    CPV code known."""
    if consultation.questions_deadline <= now or consultation.response_deadline <= now:
        raise errors.DeadlineInPast()
    if consultation.questions_deadline >= consultation.response_deadline:
        raise errors.QuestionsAfterResponses()
    lots = list(consultation.lots.all())
    if [lot.number for lot in lots] != list(range(1, len(lots) + 1)):
        raise errors.LotsNotNumbered()
    weights = [c.weight for c in consultation.criteria.all()]
    if weights and sum(weights) != 100:
        raise errors.CriteriaWeightsInvalid()
    codes = [*consultation.cpv_codes, *(code for lot in lots for code in lot.cpv_codes)]
    if cpv.unknown_codes(codes):
        raise errors.CpvUnknown()
    # A group purchase's shares still add up (groups.py imports this module).
    from . import groups

    groups.check_publishable(consultation)


def _publish(consultation: Consultation, *, now: datetime) -> None:
    check_publishable(consultation, now=now)
    transitions.apply(consultation, Event.PUBLISH)
    consultation.published_at = now
    consultation.publish_at = None
    consultation.save(
        update_fields=["state", "next_check", "published_at", "publish_at", "updated_at"]
    )
    signals.send_on_commit(
        signals.consultation_published,
        consultation_id=consultation.pk,
        organisation_id=consultation.organisation_id,
    )


@transaction.atomic(durable=True)
def publish_consultation(
    *,
    actor: Any,
    consultation_id: int,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """Publish a draft or a scheduled consultation now."""
    now = now or timezone.now()
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    if not transitions.allowed(consultation, Event.PUBLISH):
        raise errors.TransitionNotAllowed()
    _publish(consultation, now=now)
    record_event(consultation, actor=actor, action="consultation.published",
            request_context=request_context)  # fmt: skip
    return consultation


@transaction.atomic(durable=True)
def schedule_consultation(
    *,
    actor: Any,
    consultation_id: int,
    publish_at: datetime,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """Plan the publication of a draft: the job publishes it at ``publish_at``, which
    must come before the deadline for questions. Checked now, and again then."""
    now = now or timezone.now()
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    if not transitions.allowed(consultation, Event.SCHEDULE):
        raise errors.TransitionNotAllowed()
    check_publishable(consultation, now=now)
    if publish_at <= now or publish_at >= consultation.questions_deadline:
        raise errors.PublicationTimeInvalid()
    consultation.publish_at = publish_at
    transitions.apply(consultation, Event.SCHEDULE)
    consultation.save(update_fields=["state", "next_check", "publish_at", "updated_at"])
    record_event(
        consultation,
        actor=actor,
        action="consultation.scheduled",
        payload={"publish_at": publish_at.isoformat()},
        request_context=request_context,
    )
    return consultation


@transaction.atomic(durable=True)
def unschedule_consultation(
    *, actor: Any, consultation_id: int, request_context: dict[str, Any] | None = None
) -> Consultation:
    """Back to draft: the planned publication will not happen."""
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    transitions.apply(consultation, Event.UNSCHEDULE)
    consultation.publish_at = None
    consultation.save(update_fields=["state", "next_check", "publish_at", "updated_at"])
    record_event(consultation, actor=actor, action="consultation.unscheduled",
            request_context=request_context)  # fmt: skip
    return consultation


@transaction.atomic(durable=True)
def cancel_consultation(
    *,
    actor: Any,
    consultation_id: int,
    kind: str,
    reason: str,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """Declare a published or closed consultation unsuccessful or discontinued; the
    reason is published with it."""
    now = now or timezone.now()
    require_buyer(actor)
    reason = reason.strip()
    if not reason:
        raise errors.CancellationReasonRequired()
    kind = CancellationKind(kind)
    consultation = locked_consultation(actor, consultation_id)
    transitions.apply(consultation, Event.CANCEL)
    consultation.cancellation_kind = kind
    consultation.cancellation_reason = reason
    consultation.cancelled_at = now
    consultation.save(
        update_fields=[
            "state",
            "next_check",
            "cancellation_kind",
            "cancellation_reason",
            "cancelled_at",
            "updated_at",
        ]
    )
    record_event(
        consultation,
        actor=actor,
        action="consultation.cancelled",
        payload={"kind": kind.value},
        request_context=request_context,
    )
    return consultation


# --- The periodic job ------------------------------------------------------------------


def advance_due_consultations(*, now: datetime | None = None) -> dict[str, int]:
    """Record what time decided: publish the scheduled consultations whose time came,
    close the published ones whose deadline passed. Idempotent: a consultation already
    moved (by another run, by its buyer) is left as it is."""
    now = now or timezone.now()
    counts = {"published": 0, "closed": 0, "unscheduled": 0}
    for consultation_id, organisation_id in crossings.due_consultations(now=now):
        outcome = _advance(consultation_id, organisation_id=organisation_id, now=now)
        if outcome:
            counts[outcome] += 1
    return counts


@transaction.atomic(durable=True)
def _advance(consultation_id: int, *, organisation_id: int, now: datetime) -> str | None:
    # Each consultation in its own member's scope and transaction; a row another run
    # holds is skipped (it is being moved), not waited for.
    with scope(organisation=organisation_id):
        consultation = (
            Consultation.objects.select_for_update(skip_locked=True)
            .filter(pk=consultation_id, organisation_id=organisation_id, next_check__lte=now)
            .first()
        )
        if consultation is None:
            return None
        if consultation.state == State.SCHEDULED:
            try:
                with transaction.atomic():
                    _publish(consultation, now=now)
            except errors.ProcurementError as exc:
                # Its deadlines passed while it waited (the job stopped for a while):
                # back to the buyer rather than published with a past deadline.
                consultation.refresh_from_db()
                transitions.apply(consultation, Event.UNSCHEDULE)
                consultation.publish_at = None
                consultation.save(update_fields=["state", "next_check", "publish_at", "updated_at"])
                record_event(
                    consultation,
                    actor=ADVANCE_ACTOR,
                    action="consultation.publication_failed",
                    payload={"code": exc.code},
                )
                return "unscheduled"
            record_event(consultation, actor=ADVANCE_ACTOR, action="consultation.published")
            return "published"
        if consultation.state == State.PUBLISHED and consultation.response_deadline <= now:
            transitions.apply(consultation, Event.CLOSE)
            consultation.closed_at = now
            consultation.save(update_fields=["state", "next_check", "closed_at", "updated_at"])
            record_event(consultation, actor=ADVANCE_ACTOR, action="consultation.closed")
            return "closed"
        return None
