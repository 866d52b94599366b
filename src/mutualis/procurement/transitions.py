"""The life of a consultation, in one table (STYLE §5).

draft → scheduled → published → closed at the deadline; a scheduled consultation goes
back to draft (unscheduled); a published or closed one may be cancelled, unsuccessful
("infructueuse": no appropriate tender) or discontinued ("sans suite"), with its reason
shown publicly. ``apply`` alone writes ``state``, and sets ``next_check``: when the
periodic job next has something to record for the row.
"""

from __future__ import annotations

import enum
from datetime import datetime

from .errors import TransitionNotAllowed
from .models import Consultation, State


class Event(enum.Enum):
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    PUBLISH = "publish"
    CLOSE = "close"
    CANCEL = "cancel"


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.DRAFT, Event.SCHEDULE): State.SCHEDULED,
    (State.SCHEDULED, Event.UNSCHEDULE): State.DRAFT,
    (State.DRAFT, Event.PUBLISH): State.PUBLISHED,
    (State.SCHEDULED, Event.PUBLISH): State.PUBLISHED,
    (State.PUBLISHED, Event.CLOSE): State.CLOSED,
    (State.PUBLISHED, Event.CANCEL): State.CANCELLED,
    # After the deadline, when no tender is appropriate or the purchase is given up.
    (State.CLOSED, Event.CANCEL): State.CANCELLED,
}


def allowed(consultation: Consultation, event: Event) -> bool:
    return (State(consultation.state), event) in TRANSITIONS


def next_check(consultation: Consultation) -> datetime | None:
    """When the job has something to record: the planned publication of a scheduled
    consultation, the deadline of a published one; nothing otherwise."""
    if consultation.state == State.SCHEDULED:
        return consultation.publish_at
    if consultation.state == State.PUBLISHED:
        return consultation.response_deadline
    return None


def apply(consultation: Consultation, event: Event) -> State:
    """Give ``consultation`` the state ``event`` leads to (not saved); the only writer
    of ``state``."""
    try:
        after = TRANSITIONS[(State(consultation.state), event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    consultation.state = after
    consultation.next_check = next_check(consultation)
    return after
