"""The life of a contract, in one table (STYLE §5).

Signed (the record made, after the standstill), then its notification sent through the
platform, then notified when the holder confirms receipt on its page (the proof of
receipt: the DECP's notification date), in execution, and completed or terminated.
Amendments are appended while notified or in execution (``amendable``).
"""

from __future__ import annotations

import enum

from .errors import ContractTransitionNotAllowed
from .models import Contract, ContractState


class Event(enum.Enum):
    SEND_NOTIFICATION = "send_notification"
    CONFIRM_RECEIPT = "confirm_receipt"
    START = "start"
    COMPLETE = "complete"
    TERMINATE = "terminate"


TRANSITIONS: dict[tuple[ContractState, Event], ContractState] = {
    (ContractState.SIGNED, Event.SEND_NOTIFICATION): ContractState.SENT,
    (ContractState.SENT, Event.CONFIRM_RECEIPT): ContractState.NOTIFIED,
    (ContractState.NOTIFIED, Event.START): ContractState.IN_EXECUTION,
    (ContractState.IN_EXECUTION, Event.COMPLETE): ContractState.COMPLETED,
    (ContractState.NOTIFIED, Event.TERMINATE): ContractState.TERMINATED,
    (ContractState.IN_EXECUTION, Event.TERMINATE): ContractState.TERMINATED,
}

AMENDABLE = frozenset({ContractState.NOTIFIED, ContractState.IN_EXECUTION})


def allowed(contract: Contract, event: Event) -> bool:
    return (ContractState(contract.state), event) in TRANSITIONS


def amendable(contract: Contract) -> bool:
    return ContractState(contract.state) in AMENDABLE


def apply(contract: Contract, event: Event) -> ContractState:
    """Give ``contract`` the state ``event`` leads to (not saved); the only writer of
    ``state``."""
    try:
        after = TRANSITIONS[(ContractState(contract.state), event)]
    except KeyError:
        raise ContractTransitionNotAllowed() from None
    contract.state = after
    return after
