"""The life of a PES flow's status, in one table (STYLE §5)."""

from __future__ import annotations

import enum

from ..errors import TransitionNotAllowed
from .models import FlowStatus, PesFlow


class Event(enum.Enum):
    SIGN = "sign"  # its signatures verified (or none needed)
    SEND = "send"  # deposited on the gateway
    FAIL = "fail"  # could not be deposited after the last attempt
    ACKNOWLEDGE = "acknowledge"  # PES_ACQUIT: accepted (possibly with anomalies)
    REFUSE = "refuse"  # PES_ACQUIT: refused
    CANCEL = "cancel"  # withdrawn by the agent before it left
    RETRY = "retry"  # sent again by the agent after the gateway failed


TRANSITIONS: dict[tuple[FlowStatus, Event], FlowStatus] = {
    (FlowStatus.IMPORTED, Event.SIGN): FlowStatus.SIGNED,
    (FlowStatus.IMPORTED, Event.CANCEL): FlowStatus.CANCELLED,
    (FlowStatus.SIGNED, Event.CANCEL): FlowStatus.CANCELLED,
    (FlowStatus.SIGNED, Event.SEND): FlowStatus.SENT,
    (FlowStatus.SIGNED, Event.FAIL): FlowStatus.ERROR,
    (FlowStatus.ERROR, Event.CANCEL): FlowStatus.CANCELLED,
    (FlowStatus.ERROR, Event.RETRY): FlowStatus.SIGNED,
    (FlowStatus.SENT, Event.ACKNOWLEDGE): FlowStatus.ACKNOWLEDGED,
    (FlowStatus.SENT, Event.REFUSE): FlowStatus.REFUSED,
}


def allowed(flow: PesFlow, event: Event) -> bool:
    return (FlowStatus(flow.status), event) in TRANSITIONS


def apply(flow: PesFlow, event: Event) -> FlowStatus:
    """Give ``flow`` the status ``event`` leads to (not saved); the only writer of
    ``status``."""
    try:
        after = TRANSITIONS[(FlowStatus(flow.status), event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    flow.status = after
    return after
