"""Deadlines are typed in Paris time to the minute, stored in UTC, and a local time that
does not exist or happens twice (the two daylight-saving changes) is refused.

The naive datetimes below are Paris wall-clock times, as a buyer types them: on purpose.
"""

# ruff: noqa: DTZ001

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from mutualis.procurement import deadlines, errors
from mutualis.procurement.forms import ParisDateTimeField


def test_a_winter_time_is_one_hour_ahead_of_utc():
    assert deadlines.from_paris(datetime(2027, 1, 15, 12, 0)) == datetime(
        2027, 1, 15, 11, 0, tzinfo=UTC
    )


def test_a_summer_time_is_two_hours_ahead_of_utc():
    assert deadlines.from_paris(datetime(2027, 7, 15, 12, 0)) == datetime(
        2027, 7, 15, 10, 0, tzinfo=UTC
    )


def test_the_minutes_around_the_spring_change_are_an_hour_apart_in_utc_terms():
    # Sunday 28 March 2027: 1:59 CET is followed by 3:00 CEST.
    before = deadlines.from_paris(datetime(2027, 3, 28, 1, 59))
    after = deadlines.from_paris(datetime(2027, 3, 28, 3, 0))
    assert before == datetime(2027, 3, 28, 0, 59, tzinfo=UTC)
    assert after - before == timedelta(minutes=1)


@pytest.mark.parametrize("minute", [0, 1, 30, 59])
def test_a_time_the_spring_change_skips_is_refused(minute):
    with pytest.raises(errors.NonexistentLocalTime) as refused:
        deadlines.from_paris(datetime(2027, 3, 28, 2, minute))
    assert refused.value.code == "local_time_nonexistent"


@pytest.mark.parametrize("minute", [0, 1, 30, 59])
def test_a_time_the_autumn_change_repeats_is_refused(minute):
    with pytest.raises(errors.AmbiguousLocalTime) as refused:
        deadlines.from_paris(datetime(2027, 10, 31, 2, minute))
    assert refused.value.code == "local_time_ambiguous"


def test_the_minutes_around_the_autumn_change_are_two_hours_apart_in_utc_terms():
    # Sunday 31 October 2027: 1:59 CEST, then 2:00 to 2:59 twice, then 3:00 CET.
    before = deadlines.from_paris(datetime(2027, 10, 31, 1, 59))
    after = deadlines.from_paris(datetime(2027, 10, 31, 3, 0))
    assert before == datetime(2027, 10, 30, 23, 59, tzinfo=UTC)
    assert after == datetime(2027, 10, 31, 2, 0, tzinfo=UTC)


def test_seconds_are_dropped_a_deadline_is_to_the_minute():
    assert deadlines.from_paris(datetime(2027, 1, 15, 12, 0, 42)).second == 0


@given(st.datetimes(datetime(2025, 1, 1), datetime(2040, 12, 31)))
def test_every_existing_unambiguous_minute_comes_back_as_typed(local):
    local = local.replace(second=0, microsecond=0)
    try:
        stored = deadlines.from_paris(local)
    except (errors.NonexistentLocalTime, errors.AmbiguousLocalTime):
        return
    assert stored.tzinfo is not None
    assert deadlines.to_paris(stored).replace(tzinfo=None) == local


def test_a_deadline_is_shown_with_its_offset_from_utc():
    assert deadlines.display(datetime(2027, 1, 15, 11, 0, tzinfo=UTC)).endswith(
        "(Paris, UTC+01:00)"
    )
    assert deadlines.display(datetime(2027, 7, 15, 10, 0, tzinfo=UTC)).endswith(
        "(Paris, UTC+02:00)"
    )


def test_the_form_field_refuses_the_skipped_hour_with_its_message():
    field = ParisDateTimeField()
    with pytest.raises(ValidationError) as refused:
        field.clean("2027-03-28T02:30")
    assert refused.value.code == "local_time_nonexistent"
    assert "does not exist in Paris" in str(refused.value.message)


def test_the_form_field_reads_a_browser_datetime_local_value_as_paris_time():
    assert ParisDateTimeField().clean("2027-10-31T03:00") == datetime(
        2027, 10, 31, 2, 0, tzinfo=UTC
    )
