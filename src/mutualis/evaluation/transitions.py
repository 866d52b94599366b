"""The life of an analysis of offers, in one table (STYLE §5).

Prepared (criteria split into sub-criteria, settings chosen, prices entered), then scored
(evaluators score; the criteria and settings no longer change, prices may still be
corrected), then closed: the ranking is final and nothing in it changes."""

from __future__ import annotations

import enum

from .errors import TransitionNotAllowed
from .models import Analysis, AnalysisState


class Event(enum.Enum):
    START_SCORING = "start_scoring"
    CLOSE = "close"


TRANSITIONS: dict[tuple[AnalysisState, Event], AnalysisState] = {
    (AnalysisState.DRAFT, Event.START_SCORING): AnalysisState.SCORING,
    (AnalysisState.SCORING, Event.CLOSE): AnalysisState.CLOSED,
}


def allowed(analysis: Analysis, event: Event) -> bool:
    return (AnalysisState(analysis.state), event) in TRANSITIONS


def apply(analysis: Analysis, event: Event) -> AnalysisState:
    """Give ``analysis`` the state ``event`` leads to (not saved); the only writer of
    ``state``."""
    try:
        after = TRANSITIONS[(AnalysisState(analysis.state), event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    analysis.state = after
    return after
