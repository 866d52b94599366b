"""The standstill period (R2182-1, counted as regulation 1182/71 counts)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mutualis.contracts import standstill

DATES = st.dates(date(2024, 1, 1), date(2040, 12, 31))
DEPARTEMENTS = st.sampled_from([None, "21", "57", "67", "68", "75", "974"])


def test_sent_on_a_monday_the_period_ends_eleven_days_later():
    # Monday 2 March 2026 + 11 days = Friday 13 March, a working day.
    assert standstill.period_end(date(2026, 3, 2)) == date(2026, 3, 13)
    assert standstill.earliest_signature(date(2026, 3, 2)) == date(2026, 3, 14)


def test_an_end_on_a_saturday_moves_to_monday():
    # Wednesday 4 March 2026 + 11 = Sunday 15 March → Monday 16 March.
    assert standstill.period_end(date(2026, 3, 4)) == date(2026, 3, 16)
    # Tuesday 3 March + 11 = Saturday 14 March → Monday 16 March.
    assert standstill.period_end(date(2026, 3, 3)) == date(2026, 3, 16)


def test_an_end_on_a_public_holiday_moves_to_the_next_working_day():
    # 3 May 2026 + 11 = Thursday 14 May, Ascension Day → Friday 15 May.
    assert standstill.period_end(date(2026, 5, 3)) == date(2026, 5, 15)
    # 3 July 2026 + 11 = Tuesday 14 July → Wednesday 15 July.
    assert standstill.period_end(date(2026, 7, 3)) == date(2026, 7, 15)


def test_alsace_moselle_counts_good_friday_and_saint_stephen():
    # 23 March 2026 + 11 = Friday 3 April 2026, Good Friday.
    assert standstill.period_end(date(2026, 3, 23)) == date(2026, 4, 3)
    assert standstill.period_end(date(2026, 3, 23), departement="57") == date(2026, 4, 7)
    assert standstill.period_end(date(2026, 3, 23), departement="67") == date(2026, 4, 7)
    # 15 December 2026 + 11 = Saturday 26 December anyway; 2025: Friday 26 December.
    assert standstill.period_end(date(2025, 12, 15)) == date(2025, 12, 26)
    assert standstill.period_end(date(2025, 12, 15), departement="68") == date(2025, 12, 29)


def test_sixteen_days_otherwise_than_electronically():
    assert standstill.period_end(date(2026, 3, 2), electronic=False) == date(2026, 3, 18)


def test_formal_procedures_only_and_not_for_a_sole_bidder():
    for procedure in ("open", "restricted", "negotiated", "competitive_dialogue"):
        assert standstill.applies(procedure, bidders=2)
        assert not standstill.applies(procedure, bidders=1)
    for procedure in ("adapted", "without_publicity", "subsequent"):
        assert not standstill.applies(procedure, bidders=5)


@given(DATES, DEPARTEMENTS, st.booleans())
def test_the_period_is_never_shorter_than_the_law(sent, departement, electronic):
    end = standstill.period_end(sent, electronic=electronic, departement=departement)
    days = standstill.ELECTRONIC_DAYS if electronic else standstill.OTHER_DAYS
    assert end - sent >= timedelta(days=days)
    # Moved at most past a long weekend with holidays (never more than 4 days).
    assert end - sent <= timedelta(days=days + 4)


@given(DATES, DEPARTEMENTS)
def test_the_period_never_ends_on_a_weekend_or_holiday(sent, departement):
    end = standstill.period_end(sent, departement=departement)
    assert end.weekday() < 5
    assert not standstill.is_holiday(end, departement=departement)
    assert standstill.is_working_day(end, departement=departement)


@given(DATES, DEPARTEMENTS)
def test_moving_to_a_working_day_is_idempotent_and_minimal(day, departement):
    moved = standstill.next_working_day(day, departement=departement)
    assert standstill.next_working_day(moved, departement=departement) == moved
    # Every day skipped was a weekend day or a holiday.
    skipped = day
    while skipped < moved:
        assert not standstill.is_working_day(skipped, departement=departement)
        skipped += timedelta(days=1)


@given(DATES, DEPARTEMENTS)
def test_a_later_sending_never_ends_earlier(sent, departement):
    assert standstill.period_end(sent, departement=departement) <= standstill.period_end(
        sent + timedelta(days=1), departement=departement
    )


@given(DATES)
def test_over_only_after_the_last_day(sent):
    end = standstill.period_end(sent)
    assert not standstill.over(end, today=end)
    assert standstill.over(end, today=end + timedelta(days=1))
    assert standstill.over(None, today=sent)
