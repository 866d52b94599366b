"""The life of a PES flow's status, in one table (STYLE §5)."""

from __future__ import annotations

import enum

from ..errors import TransitionNotAllowed
from .models import AcquitRetourStatus, FlowStatus, PesFlow, PesReturn


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
    ``status``. A change of status is told to the member's webhooks, in the caller's
    transaction (the caller saves the flow in it)."""
    from .. import webhooks

    before = FlowStatus(flow.status)
    try:
        after = TRANSITIONS[(before, event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    flow.status = after
    # A flow not saved yet has nothing to tell (the rules are also walked on bare rows).
    if after != before and not flow._state.adding:
        webhooks.pes_flow_status_changed(flow, before.value, after.value)
    return after


# --- A return's acknowledgement (PES_ACQUIT_RETOUR) ---------------------------------------


class AckEvent(enum.Enum):
    DEPOSIT = "deposit"  # deposited on the gateway (or found there already)
    FAIL = "fail"  # could not be deposited after the last attempt
    RETRY = "retry"  # sent again by the agent after the gateway failed


ACK_TRANSITIONS: dict[tuple[AcquitRetourStatus, AckEvent], AcquitRetourStatus] = {
    (AcquitRetourStatus.TO_SEND, AckEvent.DEPOSIT): AcquitRetourStatus.SENT,
    (AcquitRetourStatus.TO_SEND, AckEvent.FAIL): AcquitRetourStatus.ERROR,
    (AcquitRetourStatus.ERROR, AckEvent.RETRY): AcquitRetourStatus.TO_SEND,
}


def ack_allowed(retour: PesReturn, event: AckEvent) -> bool:
    return (AcquitRetourStatus(retour.ack_status), event) in ACK_TRANSITIONS


def apply_ack(retour: PesReturn, event: AckEvent) -> AcquitRetourStatus:
    """Give ``retour`` the acknowledgement status ``event`` leads to (not saved); the
    only writer of ``ack_status``."""
    try:
        after = ACK_TRANSITIONS[(AcquitRetourStatus(retour.ack_status), event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    retour.ack_status = after
    return after
