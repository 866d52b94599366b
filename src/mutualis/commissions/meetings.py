"""Use cases of a commission's meetings: plan, change, convene, cancel, record the
attendance and the quorum, issue the minutes, convene again without a quorum.

Buyers and secretaries run meetings (``services.MEETING_MANAGERS``). Every status
change goes through ``transitions.apply`` and is audited on the organisation's chain in
the same transaction; the e-mails are written to the outbox in that transaction too, and
sent once it commits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from mutualis.procurement.models import Consultation

from . import convocations, errors, minutes, quorum, transitions
from .models import (
    DECISION_LENGTH,
    MAX_AGENDA_ITEMS,
    MAX_DURATION,
    MIN_DURATION,
    PLACE_LENGTH,
    REASON_LENGTH,
    URL_LENGTH,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    Commission,
    CommissionMember,
    ConsultationCommission,
    ExternalAttendance,
    ExternalMember,
    Meeting,
    MeetingStatus,
    QuorumRule,
    Seat,
    Vote,
)
from .services import MEETING_MANAGERS, clean_text, record, require
from .transitions import Event


@dataclasses.dataclass(frozen=True)
class MeetingInput:
    """When and where: ``starts_at`` an aware instant (typed in Paris, stored in UTC)."""

    starts_at: datetime
    duration_minutes: int = 120
    place: str = ""
    video_url: str = ""


def _checked(data: MeetingInput, *, now: datetime) -> MeetingInput:
    if not isinstance(data.starts_at, datetime) or data.starts_at.tzinfo is None:
        raise errors.StartInPast()
    if data.starts_at <= now:
        raise errors.StartInPast()
    if not (
        isinstance(data.duration_minutes, int)
        and MIN_DURATION <= data.duration_minutes <= MAX_DURATION
    ):
        raise errors.DurationInvalid(
            errors.DurationInvalid.message % {"min": MIN_DURATION, "max": MAX_DURATION}
        )
    place = clean_text(data.place, max_length=PLACE_LENGTH, required=False)
    video_url = clean_text(data.video_url, max_length=URL_LENGTH, required=False)
    if video_url and not video_url.lower().startswith(("https://", "http://")):
        raise errors.TextInvalid(field="video_url")
    if not place and not video_url:
        raise errors.PlaceRequired()
    return MeetingInput(data.starts_at, data.duration_minutes, place, video_url)


def _locked_meeting(actor: Any, meeting_id: int) -> Meeting:
    meeting = (
        Meeting.objects.select_for_update()
        .filter(organisation_id=actor.organisation_id, pk=meeting_id)
        .select_related("commission", "organisation")
        .first()
    )
    if meeting is None:
        raise errors.ChoiceInvalid()
    return meeting


def _members(meeting: Meeting) -> list[CommissionMember]:
    return list(
        CommissionMember.objects.filter(
            organisation_id=meeting.organisation_id,
            commission_id=meeting.commission_id,
            removed_at__isnull=True,
        )
        .select_related("membership__user")
        .order_by("-is_president", "seat", "pk")
    )


def _externals(meeting: Meeting) -> list[ExternalMember]:
    """The commission's advisory attendees from outside, convened with the members."""
    return list(
        ExternalMember.objects.filter(
            organisation_id=meeting.organisation_id,
            commission_id=meeting.commission_id,
            removed_at__isnull=True,
        ).order_by("name", "pk")
    )


def _agenda(meeting: Meeting) -> list[AgendaItem]:
    return list(
        AgendaItem.objects.filter(organisation_id=meeting.organisation_id, meeting=meeting)
        .select_related("consultation")
        .order_by("position")
    )


def _checked_agenda(
    actor: Any, commission: Commission, consultation_ids: Sequence[Any]
) -> list[int]:
    ids: list[int] = []
    for value in consultation_ids:
        if not isinstance(value, int) or isinstance(value, bool):
            raise errors.ConsultationUnknown()
        if value not in ids:
            ids.append(value)
    if len(ids) > MAX_AGENDA_ITEMS:
        raise errors.AgendaTooLong(errors.AgendaTooLong.message % {"max": MAX_AGENDA_ITEMS})
    found = dict(
        Consultation.objects.filter(organisation_id=actor.organisation_id, pk__in=ids).values_list(
            "pk", "reference"
        )
    )
    if len(found) != len(ids):
        raise errors.ConsultationUnknown()
    elsewhere = (
        ConsultationCommission.objects.filter(
            organisation_id=actor.organisation_id, consultation_id__in=ids
        )
        .exclude(commission=commission)
        .values_list("consultation_id", flat=True)
        .first()
    )
    if elsewhere is not None:
        raise errors.ConsultationOfAnotherCommission(
            errors.ConsultationOfAnotherCommission.message % {"reference": found[elsewhere]}
        )
    return ids


def _set_agenda(meeting: Meeting, ids: list[int]) -> bool:
    """Write the agenda; whether it changed."""
    before = [item.consultation_id for item in _agenda(meeting)]
    if before == ids:
        return False
    AgendaItem.objects.filter(organisation_id=meeting.organisation_id, meeting=meeting).delete()
    AgendaItem.objects.bulk_create(
        AgendaItem(
            organisation_id=meeting.organisation_id,
            meeting=meeting,
            position=position,
            consultation_id=consultation_id,
        )
        for position, consultation_id in enumerate(ids, start=1)
    )
    return True


def _payload(meeting: Meeting, **extra: Any) -> dict[str, Any]:
    return {
        "commission": meeting.commission_id,
        "starts_at": meeting.starts_at.isoformat(),
        "status": meeting.status,
        "sequence": meeting.sequence,
        **extra,
    }


@transaction.atomic(durable=True)
def plan_meeting(
    *,
    actor: Any,
    commission_id: int,
    data: MeetingInput,
    consultation_ids: Sequence[int] = (),
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Meeting:
    require(actor, *MEETING_MANAGERS)
    now = now or timezone.now()
    commission = (
        Commission.objects.select_for_update()
        .filter(organisation_id=actor.organisation_id, pk=commission_id)
        .first()
    )
    if commission is None:
        raise errors.CommissionUnknown()
    data = _checked(data, now=now)
    ids = _checked_agenda(actor, commission, consultation_ids)
    meeting = Meeting.objects.create(
        organisation_id=actor.organisation_id,
        commission=commission,
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        place=data.place,
        video_url=data.video_url,
    )
    _set_agenda(meeting, ids)
    record(actor, "commissions.meeting.planned", meeting,
           _payload(meeting, agenda=ids), request_context)  # fmt: skip
    return meeting


@transaction.atomic(durable=True)
def amend_meeting(
    *,
    actor: Any,
    meeting_id: int,
    data: MeetingInput,
    consultation_ids: Sequence[int],
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Meeting:
    """Change the time, place or agenda. A convened meeting's members receive the
    invitation again, its SEQUENCE raised."""
    require(actor, *MEETING_MANAGERS)
    now = now or timezone.now()
    meeting = _locked_meeting(actor, meeting_id)
    if not transitions.allowed(meeting, Event.AMEND):
        raise errors.TransitionNotAllowed()
    data = _checked(data, now=now)
    ids = _checked_agenda(actor, meeting.commission, consultation_ids)
    before = (meeting.starts_at, meeting.duration_minutes, meeting.place, meeting.video_url)
    meeting.starts_at = data.starts_at
    meeting.duration_minutes = data.duration_minutes
    meeting.place = data.place
    meeting.video_url = data.video_url
    changed = _set_agenda(meeting, ids) or before != (
        meeting.starts_at,
        meeting.duration_minutes,
        meeting.place,
        meeting.video_url,
    )
    if not changed:
        return meeting
    transitions.apply(meeting, Event.AMEND)
    sent = 0
    if meeting.status == MeetingStatus.CONVENED:
        meeting.sequence += 1
    meeting.save()
    if meeting.status == MeetingStatus.CONVENED:
        sent = convocations.send(
            meeting,
            members=_members(meeting),
            items=convocations.items_of(_agenda(meeting)),
            method=convocations.REQUEST,
            update=True,
            now=now,
            externals=_externals(meeting),
        )
    record(actor, "commissions.meeting.amended", meeting,
           _payload(meeting, agenda=ids, before=before[0].isoformat(), mails=sent),
           request_context)  # fmt: skip
    return meeting


@transaction.atomic(durable=True)
def convene_meeting(
    *,
    actor: Any,
    meeting_id: int,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Meeting:
    """Send every member their convocation with the invitation."""
    require(actor, *MEETING_MANAGERS)
    now = now or timezone.now()
    meeting = _locked_meeting(actor, meeting_id)
    if not transitions.allowed(meeting, Event.CONVENE):
        raise errors.TransitionNotAllowed()
    if meeting.starts_at <= now:
        raise errors.StartInPast()
    items = _agenda(meeting)
    if not items:
        raise errors.AgendaEmpty()
    members = _members(meeting)
    if not members:
        raise errors.NoMembers()
    externals = _externals(meeting)
    transitions.apply(meeting, Event.CONVENE)
    meeting.convened_at = now
    meeting.save(update_fields=["status", "convened_at"])
    sent = convocations.send(
        meeting,
        members=members,
        items=convocations.items_of(items),
        method=convocations.REQUEST,
        update=False,
        now=now,
        externals=externals,
    )
    record(actor, "commissions.meeting.convened", meeting,
           _payload(meeting, members=[m.pk for m in members],
                    externals=[e.pk for e in externals], mails=sent),
           request_context)  # fmt: skip
    return meeting


@transaction.atomic(durable=True)
def cancel_meeting(
    *,
    actor: Any,
    meeting_id: int,
    reason: str,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Meeting:
    """Cancel a planned or convened meeting; the convened members' calendars are told
    (METHOD:CANCEL, the same UID, SEQUENCE raised)."""
    require(actor, *MEETING_MANAGERS)
    now = now or timezone.now()
    meeting = _locked_meeting(actor, meeting_id)
    reason = clean_text(reason, max_length=REASON_LENGTH, lines=True)
    was_convened = meeting.status == MeetingStatus.CONVENED
    transitions.apply(meeting, Event.CANCEL)
    meeting.cancelled_reason = reason
    sent = 0
    if was_convened:
        meeting.sequence += 1
    meeting.save(update_fields=["status", "cancelled_reason", "sequence"])
    if was_convened:
        sent = convocations.send(
            meeting,
            members=_members(meeting),
            items=convocations.items_of(_agenda(meeting)),
            method=convocations.CANCEL,
            update=True,
            now=now,
            externals=_externals(meeting),
        )
    record(actor, "commissions.meeting.cancelled", meeting,
           _payload(meeting, mails=sent), request_context)  # fmt: skip
    return meeting


EXTERNAL_STATUSES = {AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED}


@dataclasses.dataclass(frozen=True)
class Presence:
    status: str
    replaced_by: int | None = None


_Attendance = TypeVar("_Attendance", Attendance, ExternalAttendance)


def _replace_attendance(
    meeting: Meeting, model: type[_Attendance], rows: list[dict[str, Any]]
) -> None:
    """The meeting's attendance of the members or of the outside attendees, recorded
    anew (it may be corrected until the minutes are issued)."""
    model.objects.filter(organisation_id=meeting.organisation_id, meeting=meeting).delete()
    model.objects.bulk_create(
        model(organisation_id=meeting.organisation_id, meeting=meeting, **row) for row in rows
    )


def _seats(members: Sequence[CommissionMember]) -> list[quorum.Seat]:
    return [quorum.Seat(m.pk, m.seat == Seat.FULL, m.vote == Vote.DELIBERATIVE) for m in members]


@transaction.atomic(durable=True)
def record_attendance(
    *,
    actor: Any,
    meeting_id: int,
    presences: Mapping[int, Presence],
    external_presences: Mapping[int, str] | None = None,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Meeting:
    """Record who is present, absent, excused or replaced by a substitute (every current
    member of the commission), and the quorum it makes; and whether each outside
    attendee came (``external_presences``: present, absent or excused, by id; never in
    the quorum). May be corrected until the minutes are issued."""
    require(actor, *MEETING_MANAGERS)
    now = now or timezone.now()
    meeting = _locked_meeting(actor, meeting_id)
    if not transitions.allowed(meeting, Event.RECORD_ATTENDANCE):
        raise errors.TransitionNotAllowed()
    if now < meeting.starts_at:
        raise errors.NotStarted()
    members = _members(meeting)
    by_id = {m.pk: m for m in members}
    if set(presences) != set(by_id):
        raise errors.AttendanceIncomplete()
    used: set[int] = set()
    for member_id, presence in presences.items():
        if presence.status not in AttendanceStatus.values:
            raise errors.ChoiceInvalid()
        if (presence.status == AttendanceStatus.REPLACED) != (presence.replaced_by is not None):
            raise errors.SubstituteInvalid()
        if presence.replaced_by is None:
            continue
        member = by_id[member_id]
        substitute = by_id.get(presence.replaced_by)
        if (
            member.seat != Seat.FULL
            or substitute is None
            or substitute.seat != Seat.SUBSTITUTE
            or substitute.vote != member.vote
            or presences[substitute.pk].status != AttendanceStatus.PRESENT
            or substitute.pk in used
        ):
            raise errors.SubstituteInvalid()
        used.add(substitute.pk)
    external_presences = dict(external_presences or {})
    if set(external_presences) != {e.pk for e in _externals(meeting)}:
        raise errors.AttendanceIncomplete()
    if any(
        not isinstance(v, str) or v not in EXTERNAL_STATUSES for v in external_presences.values()
    ):
        raise errors.ChoiceInvalid()
    # The quorum reads the members alone: an outside attendee has no vote.
    result = quorum.compute(
        _seats(members),
        {k: quorum.Presence(p.status, p.replaced_by) for k, p in presences.items()},
        rule=quorum.NONE if meeting.commission.quorum_rule == QuorumRule.NONE else quorum.MAJORITY,
        without_condition=meeting.reconvened_from_id is not None,
    )
    _replace_attendance(
        meeting,
        Attendance,
        [
            {"member_id": k, "status": p.status, "replaced_by_id": p.replaced_by}
            for k, p in sorted(presences.items())
        ],
    )
    _replace_attendance(
        meeting,
        ExternalAttendance,
        [{"external_id": k, "status": v} for k, v in sorted(external_presences.items())],
    )
    transitions.apply(meeting, Event.RECORD_ATTENDANCE)
    meeting.attendance_recorded_at = now
    meeting.quorum_required = result.required
    meeting.votes_present = result.present
    meeting.quorum_reached = result.reached
    meeting.save(
        update_fields=[
            "status",
            "attendance_recorded_at",
            "quorum_required",
            "votes_present",
            "quorum_reached",
        ]
    )
    record(actor, "commissions.meeting.attendance_recorded", meeting,
           _payload(meeting, attendance={str(k): [p.status, p.replaced_by]
                                         for k, p in sorted(presences.items())},
                    externals={str(k): v for k, v in sorted(external_presences.items())},
                    quorum={"members": result.members, "required": result.required,
                            "present": result.present, "reached": result.reached}),
           request_context)  # fmt: skip
    return meeting


def _issuer_name(actor: Any) -> str:
    user = actor.user
    return str(user.get_full_name() or user.email)


@transaction.atomic(durable=True)
def issue_minutes(
    *,
    actor: Any,
    meeting_id: int,
    decisions: Mapping[int, str],
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Meeting:
    """Record the decision typed for each agenda item and issue the minutes' PDF. Without
    the quorum, no decision: the minutes record that the commission could not sit."""
    require(actor, *MEETING_MANAGERS)
    now = now or timezone.now()
    meeting = _locked_meeting(actor, meeting_id)
    if not transitions.allowed(meeting, Event.ISSUE_MINUTES):
        raise errors.TransitionNotAllowed()
    items = _agenda(meeting)
    known = {item.pk for item in items}
    if not set(decisions) <= known:
        raise errors.ChoiceInvalid()
    for item in items:
        text = clean_text(
            decisions.get(item.pk, ""), max_length=DECISION_LENGTH, required=False, lines=True
        )
        if text and not meeting.quorum_reached:
            raise errors.DecisionWithoutQuorum()
        item.decision = text
    AgendaItem.objects.bulk_update(items, ["decision"])
    attendance = list(
        Attendance.objects.filter(organisation_id=meeting.organisation_id, meeting=meeting)
        .select_related("member__membership__user", "replaced_by__membership__user")
        .order_by("-member__is_president", "member__seat", "member__pk")
    )
    externals = list(
        ExternalAttendance.objects.filter(organisation_id=meeting.organisation_id, meeting=meeting)
        .select_related("external")
        .order_by("external__name", "external__pk")
    )
    content = minutes.render(
        meeting, items, attendance, issued_by=_issuer_name(actor), now=now, externals=externals
    )
    stored = minutes.store(meeting, content)
    # The outside attendees have no account to read them on the platform: by e-mail, to
    # those the attendance names (convened to this meeting) and still on the commission.
    mailed = convocations.send_minutes(
        meeting,
        externals=[row.external for row in externals if row.external.removed_at is None],
        filename=minutes.filename(meeting),
        content=content,
    )
    transitions.apply(meeting, Event.ISSUE_MINUTES)
    meeting.minutes = stored
    meeting.minutes_issued_at = now
    meeting.save(update_fields=["status", "minutes", "minutes_issued_at"])
    record(actor, "commissions.meeting.minutes_issued", meeting,
           _payload(meeting, minutes=str(stored.pk), sha256=stored.sha256,
                    decisions=[item.pk for item in items if item.decision], mails=mailed),
           request_context)  # fmt: skip
    return meeting


@transaction.atomic(durable=True)
def reconvene_meeting(
    *,
    actor: Any,
    meeting_id: int,
    data: MeetingInput,
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Meeting:
    """Plan the meeting that follows one held without its quorum, with the same agenda:
    it sits without a quorum (CGCT L1411-5). It is then convened like any other."""
    require(actor, *MEETING_MANAGERS)
    now = now or timezone.now()
    previous = _locked_meeting(actor, meeting_id)
    if (
        previous.status not in (MeetingStatus.HELD, MeetingStatus.MINUTES_ISSUED)
        or previous.quorum_reached is not False
        or Meeting.objects.filter(
            organisation_id=actor.organisation_id, reconvened_from=previous
        ).exists()
    ):
        raise errors.CannotReconvene()
    data = _checked(data, now=now)
    meeting = Meeting.objects.create(
        organisation_id=actor.organisation_id,
        commission=previous.commission,
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        place=data.place,
        video_url=data.video_url,
        reconvened_from=previous,
    )
    ids = [item.consultation_id for item in _agenda(previous)]
    _set_agenda(meeting, ids)
    record(actor, "commissions.meeting.planned", meeting,
           _payload(meeting, agenda=ids, reconvened_from=previous.pk), request_context)  # fmt: skip
    return meeting
