"""The life of an act's status, in one table (STYLE §5).

In this slice only PREPARE-side events have services: ``validate`` (prepared → waiting:
checked, package built, queued), ``edit`` (waiting → prepared, the package dropped) and
``cancel``. Sending and the prefecture's answers (sent, acknowledged, error) come with the
network slice; their rules are declared here already.
"""

from __future__ import annotations

import enum

from .errors import TransitionNotAllowed
from .models import Act, ActStatus


class Event(enum.Enum):
    VALIDATE = "validate"
    EDIT = "edit"
    SEND = "send"
    ACKNOWLEDGE = "acknowledge"
    FAIL = "fail"
    CANCEL = "cancel"
    # After the acknowledgement (correspondence.py, cancellation.py): the prefecture's
    # letters and the member's answers leave the act acknowledged; its cancellation
    # takes effect when the prefecture acknowledges it (``ARAnnulation``).
    LETTER = "letter"
    ANSWER = "answer"
    REQUEST_CANCELLATION = "request_cancellation"
    CANCELLATION_ACKNOWLEDGED = "cancellation_acknowledged"


TRANSITIONS: dict[tuple[ActStatus, Event], ActStatus] = {
    (ActStatus.PREPARED, Event.VALIDATE): ActStatus.WAITING,
    (ActStatus.PREPARED, Event.EDIT): ActStatus.PREPARED,
    (ActStatus.WAITING, Event.EDIT): ActStatus.PREPARED,
    (ActStatus.PREPARED, Event.CANCEL): ActStatus.CANCELLED,
    (ActStatus.WAITING, Event.CANCEL): ActStatus.CANCELLED,
    # The network slice: the package leaves, the prefecture answers.
    (ActStatus.WAITING, Event.SEND): ActStatus.SENT,
    (ActStatus.WAITING, Event.FAIL): ActStatus.ERROR,
    (ActStatus.SENT, Event.ACKNOWLEDGE): ActStatus.ACKNOWLEDGED,
    (ActStatus.SENT, Event.FAIL): ActStatus.ERROR,
    # An act in error is corrected and validated again.
    (ActStatus.ERROR, Event.EDIT): ActStatus.PREPARED,
    (ActStatus.ERROR, Event.CANCEL): ActStatus.CANCELLED,
    # After the acknowledgement.
    (ActStatus.ACKNOWLEDGED, Event.LETTER): ActStatus.ACKNOWLEDGED,
    (ActStatus.ACKNOWLEDGED, Event.ANSWER): ActStatus.ACKNOWLEDGED,
    (ActStatus.ACKNOWLEDGED, Event.REQUEST_CANCELLATION): ActStatus.ACKNOWLEDGED,
    (ActStatus.ACKNOWLEDGED, Event.CANCELLATION_ACKNOWLEDGED): ActStatus.CANCELLED,
}


def allowed(act: Act, event: Event) -> bool:
    return (ActStatus(act.status), event) in TRANSITIONS


def apply(act: Act, event: Event) -> ActStatus:
    """Give ``act`` the status ``event`` leads to (not saved); the only writer of
    ``status``. A change of status is told to the member's webhooks, in the caller's
    transaction (the caller saves the act in it)."""
    from . import webhooks

    before = ActStatus(act.status)
    try:
        after = TRANSITIONS[(before, event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    act.status = after
    # An act not saved yet has nothing to tell (the rules are also walked on bare rows).
    if after != before and not act._state.adding:
        webhooks.status_changed(act, before.value, after.value)
    return after
