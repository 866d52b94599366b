"""The minutes of a meeting as a PDF (``core.pdf``): the commission, the date and place,
the attendance with the quorum, each agenda item with the decision the secretary typed.
Written in French, the organisation's language; stored as a private file of the
organisation, read only through the meeting's page (commission members and buyers)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from mutualis.core import pdf
from mutualis.core.files import store as file_store
from mutualis.procurement import deadlines

from .models import (
    AgendaItem,
    Attendance,
    AttendanceStatus,
    ExternalAttendance,
    Meeting,
    Seat,
    Vote,
)

OWNER_KIND = "commissions.minutes"
PDF = "application/pdf"


def nobody_reads(request: Any, stored_file: Any) -> bool:
    """The generic download view serves no minutes: the meeting's page does, to the
    commission's members and the buyers."""
    return False


def _member_line(row: Attendance) -> str:
    member = row.member
    seat = _("full member") if member.seat == Seat.FULL else _("substitute")
    vote = _("deliberative vote") if member.vote == Vote.DELIBERATIVE else _("advisory vote")
    label = f"{member.name} ({seat}, {vote}"
    label += (", " + _("president") + ")") if member.is_president else ")"
    if row.status == AttendanceStatus.REPLACED and row.replaced_by is not None:
        status = _("replaced by %(name)s") % {"name": row.replaced_by.name}
    else:
        status = str(AttendanceStatus(row.status).label)
    return f"- {label}: {status}"


def _external_line(row: ExternalAttendance) -> str:
    external = row.external
    status = str(AttendanceStatus(row.status).label)
    return f"- {external.name} ({external.quality_text}, {_('advisory vote')}): {status}"


def lines(
    meeting: Meeting,
    items: Sequence[AgendaItem],
    attendance: Sequence[Attendance],
    *,
    issued_by: str,
    now: datetime,
    externals: Sequence[ExternalAttendance] = (),
) -> list[tuple[str, bool]]:
    commission = meeting.commission
    result: list[tuple[str, bool]] = [
        (meeting.organisation.name, True),
        (_("Minutes of the meeting of %(commission)s") % {"commission": commission.name}, True),
        (str(commission.get_kind_display()), False),
        ("", False),
        (_("Date: %(when)s") % {"when": deadlines.display(meeting.starts_at)}, False),
    ]
    if meeting.place:
        result.append((_("Place: %(place)s") % {"place": meeting.place}, False))
    if meeting.video_url:
        result.append((_("Video link: %(url)s") % {"url": meeting.video_url}, False))
    if meeting.reconvened_from is not None:
        result.append(
            (
                _(
                    "Convened again after the meeting of %(when)s, which lacked its quorum: the"
                    " commission sits without a quorum (CGCT L1411-5)."
                )
                % {"when": deadlines.display(meeting.reconvened_from.starts_at)},
                False,
            )
        )
    result += [("", False), (_("Attendance"), True)]
    result += [(_member_line(row), False) for row in attendance]
    if externals:
        result += [("", False), (_("Advisory attendees from outside the organisation"), True)]
        result += [(_external_line(row), False) for row in externals]
    if meeting.quorum_required == 0:
        quorum = _("No quorum required: %(present)s deliberative votes present.") % {
            "present": meeting.votes_present
        }
    else:
        quorum = _(
            "Quorum: %(present)s deliberative votes present, %(required)s required: %(outcome)s."
        ) % {
            "present": meeting.votes_present,
            "required": meeting.quorum_required,
            "outcome": _("reached") if meeting.quorum_reached else _("not reached"),
        }
    result += [("", False), (quorum, True), ("", False), (_("Agenda"), True)]
    for number, item in enumerate(items, start=1):
        result.append(
            (f"{number}. {item.consultation.reference} — {item.consultation.title}", True)
        )
        if not meeting.quorum_reached:
            result.append((_("Not examined: the quorum was not reached."), False))
        else:
            result.append((item.decision or _("No decision recorded."), False))
    result += [
        ("", False),
        (
            _("Minutes issued on %(when)s by %(name)s.")
            % {"when": deadlines.display(now), "name": issued_by},
            False,
        ),
    ]
    return result


def render(
    meeting: Meeting,
    items: Sequence[AgendaItem],
    attendance: Sequence[Attendance],
    *,
    issued_by: str,
    now: datetime,
    externals: Sequence[ExternalAttendance] = (),
) -> bytes:
    """The minutes' PDF, in French."""
    with translation.override("fr"):
        title = _("Minutes of the meeting of %(commission)s") % {
            "commission": meeting.commission.name
        }
        content: bytes = pdf.text_document(
            lines(meeting, items, attendance, issued_by=issued_by, now=now, externals=externals),
            title=title,
        )
    return content


def filename(meeting: Meeting) -> str:
    local = deadlines.to_paris(meeting.starts_at)
    return f"pv-commission-{meeting.commission_id}-{local:%Y%m%d-%H%M}-{meeting.pk}.pdf"


def store(meeting: Meeting, content: bytes) -> Any:
    """Store the minutes' PDF as a private file, inside the caller's transaction."""
    return file_store.store_file(
        file=io.BytesIO(content),
        name=filename(meeting),
        owner_kind=OWNER_KIND,
        owner_ref=str(meeting.pk),
        allowed_types=frozenset({PDF}),
    )


def make(
    meeting: Meeting,
    items: Sequence[AgendaItem],
    attendance: Sequence[Attendance],
    *,
    issued_by: str,
    now: datetime,
) -> Any:
    """Write and store the minutes' PDF, inside the caller's transaction."""
    return store(meeting, render(meeting, items, attendance, issued_by=issued_by, now=now))
