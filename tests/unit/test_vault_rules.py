"""A vault document's validity on a given day, and the reminder due for it."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mutualis.companies.models import CompanyProfile, CompanySize
from mutualis.companies.vault import Validity, due_threshold, reminder_thresholds, validity

TODAY = date(2026, 12, 6)
THRESHOLDS = (30, 7)


def test_a_document_without_an_end_date_has_no_end():
    assert validity(None, today=TODAY, soon_days=30) is Validity.NO_END_DATE


def test_a_document_is_valid_through_its_last_day_and_expired_the_day_after():
    assert validity(TODAY, today=TODAY, soon_days=0) is Validity.EXPIRING_SOON
    assert validity(TODAY, today=TODAY, soon_days=30) is Validity.EXPIRING_SOON
    assert validity(TODAY - timedelta(days=1), today=TODAY, soon_days=30) is Validity.EXPIRED


def test_expiring_soon_starts_at_the_first_reminder():
    assert validity(TODAY + timedelta(days=30), today=TODAY, soon_days=30) is (
        Validity.EXPIRING_SOON
    )
    assert validity(TODAY + timedelta(days=31), today=TODAY, soon_days=30) is Validity.VALID


def test_statuses_have_labels():
    assert {v.label for v in Validity} == {"Valid", "Expiring soon", "Expired", "No end date"}


def test_the_reminder_due_is_the_tightest_threshold_reached():
    def due(days: int) -> int | None:
        return due_threshold(TODAY + timedelta(days=days), today=TODAY, thresholds=THRESHOLDS)

    assert due(31) is None
    assert due(30) == 30
    assert due(8) == 30
    assert due(7) == 7
    assert due(0) == 7
    assert due(-1) is None


@given(st.integers(-400, 400), st.lists(st.integers(0, 365), min_size=1, max_size=5))
def test_a_due_reminder_is_one_of_the_thresholds_and_never_before_it(days_left, thresholds):
    due = due_threshold(TODAY + timedelta(days=days_left), today=TODAY, thresholds=thresholds)
    if due is None:
        assert days_left < 0 or days_left > max(thresholds)
    else:
        assert due in thresholds
        assert 0 <= days_left <= due
        assert not [t for t in thresholds if days_left <= t < due]


def test_thresholds_come_from_the_settings_largest_first(settings):
    settings.MUTUALIS_VAULT_REMINDER_DAYS = [7, 30, 7]
    assert reminder_thresholds() == (30, 7)


def test_micro_small_and_medium_enterprises_are_smes():
    assert [CompanyProfile(size=s).is_sme for s in CompanySize.values] == [
        True,
        True,
        True,
        False,
    ]
    assert CompanyProfile(size="").is_sme is None
