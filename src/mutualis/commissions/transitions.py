"""The life of a commission's meeting, in one table (STYLE §5).

Planned, then convened (the convocations go out with their invitation); changing a
convened meeting sends the invitation again with a higher SEQUENCE. Once it started,
the attendance is recorded (held; it may be corrected until the minutes), then the
minutes are issued. A planned or convened meeting may be cancelled (the invitation is
withdrawn). A meeting held without its quorum stays as held, and a new meeting is
planned from it (``Meeting.reconvened_from``), which sits without a quorum.
"""

from __future__ import annotations

import enum

from .errors import TransitionNotAllowed
from .models import Meeting, MeetingStatus


class Event(enum.Enum):
    AMEND = "amend"
    CONVENE = "convene"
    RECORD_ATTENDANCE = "record_attendance"
    ISSUE_MINUTES = "issue_minutes"
    CANCEL = "cancel"


TRANSITIONS: dict[tuple[MeetingStatus, Event], MeetingStatus] = {
    (MeetingStatus.PLANNED, Event.AMEND): MeetingStatus.PLANNED,
    (MeetingStatus.PLANNED, Event.CONVENE): MeetingStatus.CONVENED,
    (MeetingStatus.PLANNED, Event.CANCEL): MeetingStatus.CANCELLED,
    (MeetingStatus.CONVENED, Event.AMEND): MeetingStatus.CONVENED,
    (MeetingStatus.CONVENED, Event.RECORD_ATTENDANCE): MeetingStatus.HELD,
    (MeetingStatus.CONVENED, Event.CANCEL): MeetingStatus.CANCELLED,
    (MeetingStatus.HELD, Event.RECORD_ATTENDANCE): MeetingStatus.HELD,
    (MeetingStatus.HELD, Event.ISSUE_MINUTES): MeetingStatus.MINUTES_ISSUED,
}


def allowed(meeting: Meeting, event: Event) -> bool:
    return (MeetingStatus(meeting.status), event) in TRANSITIONS


def apply(meeting: Meeting, event: Event) -> MeetingStatus:
    """Give ``meeting`` the status ``event`` leads to (not saved); the only writer of
    ``status``."""
    try:
        after = TRANSITIONS[(MeetingStatus(meeting.status), event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    meeting.status = after
    return after
