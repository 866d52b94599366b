"""The life of a candidate's admission to the offer phase, in one table (STYLE §5).

Decided (and decided again, while the buyer weighs the applications), or awaiting the
missing documents the buyer asked for (R2144-2; asked again with a new date if need be),
until the buyer admits or refuses the candidate; then notified to every candidate at
once, which a pending request prevents; nothing leaves ``notified``."""

from __future__ import annotations

import enum

from .admission_errors import DocumentsRequestPending
from .errors import AdmissionsNotified
from .models import Admission, AdmissionState


class Event(enum.Enum):
    DECIDE = "decide"
    REQUEST_DOCUMENTS = "request_documents"
    NOTIFY = "notify"


# ``None``: no decision yet (no row).
TRANSITIONS: dict[tuple[AdmissionState | None, Event], AdmissionState] = {
    (None, Event.DECIDE): AdmissionState.DECIDED,
    (AdmissionState.DECIDED, Event.DECIDE): AdmissionState.DECIDED,
    (None, Event.REQUEST_DOCUMENTS): AdmissionState.AWAITING_DOCUMENTS,
    (AdmissionState.DECIDED, Event.REQUEST_DOCUMENTS): AdmissionState.AWAITING_DOCUMENTS,
    (AdmissionState.AWAITING_DOCUMENTS, Event.REQUEST_DOCUMENTS): (
        AdmissionState.AWAITING_DOCUMENTS
    ),
    (AdmissionState.AWAITING_DOCUMENTS, Event.DECIDE): AdmissionState.DECIDED,
    (AdmissionState.DECIDED, Event.NOTIFY): AdmissionState.NOTIFIED,
}


def apply(admission: Admission, event: Event, *, new: bool = False) -> AdmissionState:
    """Give ``admission`` the state ``event`` leads to (not saved); the only writer of
    ``state``. ``new``: the row is being made (no decision before)."""
    before = None if new else AdmissionState(admission.state)
    try:
        after = TRANSITIONS[(before, event)]
    except KeyError:
        if before == AdmissionState.AWAITING_DOCUMENTS:
            raise DocumentsRequestPending() from None
        raise AdmissionsNotified() from None
    admission.state = after
    return after
