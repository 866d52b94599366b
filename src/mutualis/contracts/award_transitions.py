"""The life of an award, in one table (STYLE §5).

Decided (and decided again while in draft), then notified: the letters go to every
bidder of the lot at once and the standstill period starts. Once it is over (or at
once when none applies), the contract may be signed. An award may be abandoned before
its contract is signed (a referral annulled it, the buyer decides again); an
unsuccessful or discontinued lot ends at ``notified``.
"""

from __future__ import annotations

import enum

from .errors import AwardTransitionNotAllowed
from .models import Award, AwardState


class Event(enum.Enum):
    DECIDE = "decide"
    NOTIFY = "notify"
    END_STANDSTILL = "end_standstill"
    SIGN = "sign"
    ABANDON = "abandon"


# ``None``: no decision yet (no row).
TRANSITIONS: dict[tuple[AwardState | None, Event], AwardState] = {
    (None, Event.DECIDE): AwardState.DRAFT,
    (AwardState.DRAFT, Event.DECIDE): AwardState.DRAFT,
    (AwardState.DRAFT, Event.NOTIFY): AwardState.NOTIFIED,
    (AwardState.NOTIFIED, Event.END_STANDSTILL): AwardState.STANDSTILL_OVER,
    (AwardState.STANDSTILL_OVER, Event.SIGN): AwardState.CONTRACTED,
    (AwardState.DRAFT, Event.ABANDON): AwardState.ABANDONED,
    (AwardState.NOTIFIED, Event.ABANDON): AwardState.ABANDONED,
    (AwardState.STANDSTILL_OVER, Event.ABANDON): AwardState.ABANDONED,
}


def allowed(award: Award | None, event: Event) -> bool:
    before = None if award is None else AwardState(award.state)
    return (before, event) in TRANSITIONS


def apply(award: Award, event: Event, *, new: bool = False) -> AwardState:
    """Give ``award`` the state ``event`` leads to (not saved); the only writer of
    ``state``. ``new``: the row is being made."""
    before = None if new else AwardState(award.state)
    try:
        after = TRANSITIONS[(before, event)]
    except KeyError:
        raise AwardTransitionNotAllowed() from None
    award.state = after
    return after
