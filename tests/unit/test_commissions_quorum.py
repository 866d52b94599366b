"""The quorum of a commission's meeting (CGCT L1411-5): more than half of the full
members with a deliberative vote present, a substitute standing in for one full member;
advisory votes never count; a meeting convened again sits without a quorum."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mutualis.commissions.quorum import (
    ABSENT,
    EXCUSED,
    PRESENT,
    REPLACED,
    Presence,
    Seat,
    compute,
    required_votes,
)


def test_five_full_members_need_three():
    seats = [Seat(i, True, True) for i in range(1, 6)]
    two = {1: Presence(PRESENT), 2: Presence(PRESENT)}
    three = {**two, 3: Presence(PRESENT)}
    assert compute(seats, two).reached is False
    assert compute(seats, three).reached is True
    assert compute(seats, three).required == 3


def test_an_even_number_needs_more_than_half():
    assert required_votes(4) == 3
    assert required_votes(6) == 4
    assert required_votes(1) == 1


def test_a_substitute_present_stands_in_for_one_full_member_only():
    seats = [*(Seat(i, True, True) for i in range(1, 4)), Seat(9, False, True)]
    presences = {
        1: Presence(PRESENT),
        2: Presence(REPLACED, 9),
        3: Presence(REPLACED, 9),
        9: Presence(PRESENT),
    }
    result = compute(seats, presences)
    assert result.present == 2
    assert result.reached is True


def test_a_substitute_who_is_not_there_replaces_nobody():
    seats = [Seat(1, True, True), Seat(2, True, True), Seat(3, True, True), Seat(9, False, True)]
    presences = {1: Presence(PRESENT), 2: Presence(REPLACED, 9), 9: Presence(ABSENT)}
    assert compute(seats, presences).present == 1
    assert compute(seats, presences).reached is False


def test_advisory_members_and_idle_substitutes_do_not_count():
    seats = [Seat(1, True, True), Seat(2, True, True), Seat(3, True, False), Seat(9, False, True)]
    presences = {1: Presence(PRESENT), 3: Presence(PRESENT), 9: Presence(PRESENT)}
    result = compute(seats, presences)
    assert (result.members, result.present, result.required) == (2, 1, 2)
    assert result.reached is False


def test_a_commission_without_deliberative_members_never_has_a_quorum():
    assert compute([], {}).reached is False


def test_convened_again_it_sits_without_a_quorum():
    seats = [Seat(i, True, True) for i in range(1, 6)]
    result = compute(seats, {1: Presence(PRESENT)}, without_condition=True)
    assert (result.required, result.reached) == (0, True)


def test_the_rule_none_needs_nobody():
    assert compute([Seat(1, True, True)], {}, rule="none").reached is True


statuses = st.sampled_from([PRESENT, ABSENT, EXCUSED, REPLACED])


@st.composite
def meetings(draw):
    full = draw(st.integers(0, 9))
    substitutes = draw(st.integers(0, 4))
    advisory = draw(st.integers(0, 3))
    seats = (
        [Seat(i, True, True) for i in range(full)]
        + [Seat(100 + i, False, True) for i in range(substitutes)]
        + [Seat(200 + i, True, False) for i in range(advisory)]
    )
    presences = {}
    for seat in seats:
        status = draw(statuses)
        replaced_by = None
        if status == REPLACED:
            replaced_by = draw(st.sampled_from([s.member_id for s in seats]))
        presences[seat.member_id] = Presence(status, replaced_by)
    return seats, presences


@given(meetings())
def test_the_quorum_is_more_than_half_of_the_deliberative_full_members(meeting):
    seats, presences = meeting
    result = compute(seats, presences)
    assert result.members == sum(1 for s in seats if s.full and s.deliberative)
    assert 0 <= result.present <= result.members
    assert result.reached == (2 * result.present > result.members)


@given(meetings())
def test_votes_present_never_exceed_full_members_there_plus_substitutes_there(meeting):
    seats, presences = meeting
    result = compute(seats, presences)
    there = {k for k, p in presences.items() if p.status == PRESENT}
    full_there = sum(1 for s in seats if s.full and s.deliberative and s.member_id in there)
    substitutes_there = sum(1 for s in seats if not s.full and s.member_id in there)
    assert full_there <= result.present <= full_there + substitutes_there


@given(meetings(), st.data())
def test_one_more_full_member_present_never_loses_the_quorum(meeting, data):
    seats, presences = meeting
    absent = [
        s.member_id
        for s in seats
        if s.full and s.deliberative and presences[s.member_id].status != PRESENT
    ]
    before = compute(seats, presences)
    if not absent:
        return
    member = data.draw(st.sampled_from(absent))
    after = compute(seats, {**presences, member: Presence(PRESENT)})
    assert after.present >= before.present
    assert after.reached or not before.reached


@given(meetings())
def test_advisory_attendance_changes_nothing(meeting):
    seats, presences = meeting
    advisory = [s.member_id for s in seats if not s.deliberative]
    everyone_away = {**presences, **{m: Presence(ABSENT) for m in advisory}}
    assert compute(seats, presences) == compute(seats, everyone_away)
