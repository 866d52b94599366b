"""The life of a consultation: the transition table, walked whole."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db.models import CheckConstraint
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mutualis.procurement import transitions
from mutualis.procurement.errors import TransitionNotAllowed
from mutualis.procurement.management.commands.consultation_states import markdown
from mutualis.procurement.models import Consultation, State
from mutualis.procurement.transitions import TRANSITIONS, Event

PUBLISH_AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2027, 4, 1, 10, 0, tzinfo=UTC)


def consultation_in(state: State) -> Consultation:
    return Consultation(state=state, publish_at=PUBLISH_AT, response_deadline=DEADLINE)


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, Event)))
def test_every_state_and_event_either_moves_as_the_table_says_or_is_refused(state, event):
    consultation = consultation_in(state)
    if (state, event) in TRANSITIONS:
        assert transitions.apply(consultation, event) == TRANSITIONS[(state, event)]
        assert consultation.state == TRANSITIONS[(state, event)]
    else:
        with pytest.raises(TransitionNotAllowed) as refused:
            transitions.apply(consultation, event)
        assert refused.value.code == "consultation_transition_not_allowed"
        assert consultation.state == state


def test_every_state_is_reached_from_a_draft():
    reached, frontier = {State.DRAFT}, [State.DRAFT]
    while frontier:
        state = frontier.pop()
        for (before, _event), after in TRANSITIONS.items():
            if before == state and after not in reached:
                reached.add(after)
                frontier.append(after)
    assert reached == set(State)


def test_cancelled_is_final_and_a_closed_consultation_may_still_be_cancelled():
    assert not [key for key in TRANSITIONS if key[0] == State.CANCELLED]
    assert TRANSITIONS[(State.CLOSED, Event.CANCEL)] == State.CANCELLED


def test_the_job_looks_again_at_the_planned_publication_then_at_the_deadline():
    consultation = consultation_in(State.DRAFT)
    transitions.apply(consultation, Event.SCHEDULE)
    assert consultation.next_check == PUBLISH_AT
    transitions.apply(consultation, Event.PUBLISH)
    assert consultation.next_check == DEADLINE
    transitions.apply(consultation, Event.CLOSE)
    assert consultation.next_check is None


def test_the_database_refuses_a_state_the_table_does_not_know():
    constraint = next(
        c for c in Consultation._meta.constraints if c.name == "consultation_state_valid"
    )
    assert isinstance(constraint, CheckConstraint)
    assert dict(constraint.condition.children)["state__in"] == State.values


class ConsultationLife(RuleBasedStateMachine):
    """Any sequence of events: the state follows the table, a refused event changes
    nothing, and the job's next look always matches the state."""

    def __init__(self) -> None:
        super().__init__()
        self.consultation = consultation_in(State.DRAFT)

    @rule(event=st.sampled_from(Event))
    def happen(self, event: Event) -> None:
        before = State(self.consultation.state)
        if (before, event) in TRANSITIONS:
            transitions.apply(self.consultation, event)
            assert self.consultation.state == TRANSITIONS[(before, event)]
        else:
            with pytest.raises(TransitionNotAllowed):
                transitions.apply(self.consultation, event)
            assert self.consultation.state == before

    @invariant()
    def the_job_looks_when_something_is_due(self) -> None:
        expected = {State.SCHEDULED: PUBLISH_AT, State.PUBLISHED: DEADLINE}
        assert self.consultation.next_check == expected.get(State(self.consultation.state))


TestConsultationLife = ConsultationLife.TestCase


def test_the_architecture_document_shows_the_table_the_code_holds():
    document = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    start = document.index("<!-- consultation_states -->\n") + len("<!-- consultation_states -->\n")
    end = document.index("<!-- /consultation_states -->")
    assert document[start:end] == markdown(), "Run `mutualis consultation_states` into the doc"
