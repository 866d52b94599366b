"""The life of a backup copy ("copie de sauvegarde"), in one table (STYLE §5).

Announced with the deposit, or recorded when it arrives unannounced; received and kept
sealed; then either opened, for a listed reason only, or destroyed unopened. Nothing
leaves ``opened`` or ``destroyed``."""

from __future__ import annotations

import enum

from .errors import BackupTransitionNotAllowed
from .models import BackupCopy, BackupState


class Event(enum.Enum):
    RECEIVE = "receive"
    OPEN = "open"
    DESTROY = "destroy"


TRANSITIONS: dict[tuple[BackupState, Event], BackupState] = {
    (BackupState.ANNOUNCED, Event.RECEIVE): BackupState.RECEIVED,
    (BackupState.RECEIVED, Event.OPEN): BackupState.OPENED,
    (BackupState.RECEIVED, Event.DESTROY): BackupState.DESTROYED,
    # Announced but never received: nothing to keep, the announcement is closed.
    (BackupState.ANNOUNCED, Event.DESTROY): BackupState.DESTROYED,
}


def allowed(copy: BackupCopy, event: Event) -> bool:
    return (BackupState(copy.state), event) in TRANSITIONS


def apply(copy: BackupCopy, event: Event) -> BackupState:
    """Give ``copy`` the state ``event`` leads to (not saved); the only writer of
    ``state``."""
    try:
        after = TRANSITIONS[(BackupState(copy.state), event)]
    except KeyError:
        raise BackupTransitionNotAllowed() from None
    copy.state = after
    return after
