"""The life of a candidate's admission to the offer phase, in one table (STYLE §5).

Decided (and decided again, while the buyer weighs the applications), then notified to
every candidate at once; nothing leaves ``notified``."""

from __future__ import annotations

import enum

from .errors import AdmissionsNotified
from .models import Admission, AdmissionState


class Event(enum.Enum):
    DECIDE = "decide"
    NOTIFY = "notify"


# ``None``: no decision yet (no row).
TRANSITIONS: dict[tuple[AdmissionState | None, Event], AdmissionState] = {
    (None, Event.DECIDE): AdmissionState.DECIDED,
    (AdmissionState.DECIDED, Event.DECIDE): AdmissionState.DECIDED,
    (AdmissionState.DECIDED, Event.NOTIFY): AdmissionState.NOTIFIED,
}


def apply(admission: Admission, event: Event, *, new: bool = False) -> AdmissionState:
    """Give ``admission`` the state ``event`` leads to (not saved); the only writer of
    ``state``. ``new``: the row is being made (no decision before)."""
    before = None if new else AdmissionState(admission.state)
    try:
        after = TRANSITIONS[(before, event)]
    except KeyError:
        raise AdmissionsNotified() from None
    admission.state = after
    return after
