"""The meeting's transition table is the only way its status changes."""

from __future__ import annotations

import pytest

from mutualis.commissions import errors, transitions
from mutualis.commissions.models import Meeting, MeetingStatus
from mutualis.commissions.transitions import TRANSITIONS, Event


@pytest.mark.parametrize(("before", "event"), sorted(TRANSITIONS, key=str))
def test_each_listed_step_leads_where_the_table_says(before, event):
    meeting = Meeting(status=before)
    assert transitions.allowed(meeting, event)
    assert transitions.apply(meeting, event) == TRANSITIONS[(before, event)]
    assert meeting.status == TRANSITIONS[(before, event)]


@pytest.mark.parametrize("status", list(MeetingStatus))
@pytest.mark.parametrize("event", list(Event))
def test_every_other_step_is_refused_and_changes_nothing(status, event):
    if (status, event) in TRANSITIONS:
        return
    meeting = Meeting(status=status)
    with pytest.raises(errors.TransitionNotAllowed):
        transitions.apply(meeting, event)
    assert meeting.status == status


def test_cancelled_and_minutes_issued_are_final():
    finals = {MeetingStatus.CANCELLED, MeetingStatus.MINUTES_ISSUED}
    assert not [key for key in TRANSITIONS if key[0] in finals]


def test_the_happy_path_walks_planned_to_minutes_issued():
    meeting = Meeting(status=MeetingStatus.PLANNED)
    for event in (Event.CONVENE, Event.RECORD_ATTENDANCE, Event.ISSUE_MINUTES):
        transitions.apply(meeting, event)
    assert meeting.status == MeetingStatus.MINUTES_ISSUED
