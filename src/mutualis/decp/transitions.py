"""The life of a DECP entry, in one table (STYLE §5).

Generated invalid: incomplete (the buyer fixes the records, the next generation tries
again). Generated valid: ready, public through the API and the bulk files. Taken by the
national portal: published. An amendment (or a correction) makes a new version, ready
again until the portal takes it; a generation that becomes invalid makes the entry
incomplete, its last valid version staying public.
"""

from __future__ import annotations

import enum

from .errors import EntryTransitionNotAllowed
from .models import DecpEntry, Status


class Event(enum.Enum):
    VALID = "valid"  # a generation is valid and differs from the public version
    INVALID = "invalid"  # a generation is invalid
    PORTAL_TOOK = "portal_took"  # the national portal took the current version


TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.INCOMPLETE, Event.VALID): Status.READY,
    (Status.INCOMPLETE, Event.INVALID): Status.INCOMPLETE,
    (Status.READY, Event.VALID): Status.READY,
    (Status.READY, Event.INVALID): Status.INCOMPLETE,
    (Status.READY, Event.PORTAL_TOOK): Status.PUBLISHED,
    (Status.PUBLISHED, Event.VALID): Status.READY,
    (Status.PUBLISHED, Event.INVALID): Status.INCOMPLETE,
}


def allowed(entry: DecpEntry, event: Event) -> bool:
    return (Status(entry.status), event) in TRANSITIONS


def apply(entry: DecpEntry, event: Event) -> Status:
    """Give ``entry`` the status ``event`` leads to (not saved); the only writer of
    ``status``."""
    try:
        after = TRANSITIONS[(Status(entry.status), event)]
    except KeyError:
        raise EntryTransitionNotAllowed() from None
    entry.status = after
    return after
