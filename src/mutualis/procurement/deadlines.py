"""Deadlines are entered and shown in Paris time, to the minute, and stored in UTC.

A local time that does not exist (the last Sunday of March, 2:00 to 3:00, when clocks go
forward) or that happens twice (the last Sunday of October, 2:00 to 3:00, when they go back)
is refused with a message rather than guessed: a deadline a business misreads by an hour
is a deadline lost in court.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import formats

from . import errors

PARIS = ZoneInfo("Europe/Paris")


def from_paris(local: datetime) -> datetime:
    """The UTC instant of a naive Paris wall-clock time, seconds dropped."""
    local = local.replace(second=0, microsecond=0, tzinfo=None)
    early = local.replace(tzinfo=PARIS, fold=0)
    late = local.replace(tzinfo=PARIS, fold=1)
    if early.utcoffset() != late.utcoffset():
        # fold=0 and fold=1 disagree: the time is in a gap or in an overlap. A time in a
        # gap does not survive the round trip through UTC.
        round_trip = early.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None)
        if round_trip != local:
            raise errors.NonexistentLocalTime()
        raise errors.AmbiguousLocalTime()
    return early.astimezone(UTC)


def to_paris(instant: datetime) -> datetime:
    return instant.astimezone(PARIS)


def display(instant: datetime | None) -> str:
    """ "28/03/2027 14:00 (Paris, UTC+02:00)": the time zone always said."""
    if instant is None:
        return ""
    local = to_paris(instant)
    offset = local.strftime("%z")
    return "{} ({}, UTC{}:{})".format(
        formats.date_format(local, "SHORT_DATETIME_FORMAT"),
        "Paris",
        offset[:3],
        offset[3:],
    )
