"""The act's statuses: walk the whole transition table, every (status, event) pair."""

from __future__ import annotations

import pytest

from mutualis.legality import transitions
from mutualis.legality.errors import TransitionNotAllowed
from mutualis.legality.models import Act, ActStatus
from mutualis.legality.transitions import TRANSITIONS, Event

EXPECTED = {
    (ActStatus.PREPARED, Event.VALIDATE): ActStatus.WAITING,
    (ActStatus.PREPARED, Event.EDIT): ActStatus.PREPARED,
    (ActStatus.WAITING, Event.EDIT): ActStatus.PREPARED,
    (ActStatus.PREPARED, Event.CANCEL): ActStatus.CANCELLED,
    (ActStatus.WAITING, Event.CANCEL): ActStatus.CANCELLED,
    (ActStatus.WAITING, Event.SEND): ActStatus.SENT,
    (ActStatus.WAITING, Event.FAIL): ActStatus.ERROR,
    (ActStatus.SENT, Event.ACKNOWLEDGE): ActStatus.ACKNOWLEDGED,
    (ActStatus.SENT, Event.FAIL): ActStatus.ERROR,
    (ActStatus.ERROR, Event.EDIT): ActStatus.PREPARED,
    (ActStatus.ERROR, Event.CANCEL): ActStatus.CANCELLED,
    (ActStatus.ACKNOWLEDGED, Event.LETTER): ActStatus.ACKNOWLEDGED,
    (ActStatus.ACKNOWLEDGED, Event.ANSWER): ActStatus.ACKNOWLEDGED,
    (ActStatus.ACKNOWLEDGED, Event.REQUEST_CANCELLATION): ActStatus.ACKNOWLEDGED,
    (ActStatus.ACKNOWLEDGED, Event.CANCELLATION_ACKNOWLEDGED): ActStatus.CANCELLED,
}


@pytest.mark.parametrize("status", list(ActStatus))
@pytest.mark.parametrize("event", list(Event))
def test_every_status_and_event_leads_where_the_table_says_or_is_refused(status, event):
    act = Act(status=status)
    expected = EXPECTED.get((status, event))
    assert transitions.allowed(act, event) is (expected is not None)
    if expected is None:
        with pytest.raises(TransitionNotAllowed):
            transitions.apply(act, event)
        assert act.status == status
    else:
        assert transitions.apply(act, event) == expected
        assert act.status == expected


def test_the_table_is_the_one_walked():
    assert TRANSITIONS == EXPECTED


def test_a_cancelled_act_is_final_and_an_acknowledged_one_only_ends_cancelled():
    assert not [pair for pair in TRANSITIONS if pair[0] == ActStatus.CANCELLED]
    after = {v for (status, _event), v in TRANSITIONS.items() if status == ActStatus.ACKNOWLEDGED}
    assert after == {ActStatus.ACKNOWLEDGED, ActStatus.CANCELLED}


def test_every_status_of_the_table_is_allowed_by_the_database_constraint():
    constraint = next(c for c in Act._meta.constraints if c.name == "legality_act_status_valid")
    allowed = set(constraint.condition.children[0][1])
    statuses = {s for pair in TRANSITIONS for s in (pair[0],)} | set(TRANSITIONS.values())
    assert statuses <= allowed
    assert allowed == set(ActStatus.values)
