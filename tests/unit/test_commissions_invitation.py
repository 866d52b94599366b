"""The convocation's iCalendar invitation parses back, with Paris times that stay right
across the daylight-saving changes, a stable UID and the SEQUENCE of the meeting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from mutualis.commissions import convocations
from mutualis.commissions.models import Commission, CommissionMember, Meeting
from mutualis.core.models import Organisation
from mutualis.identity.models import Membership, User

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def _member(pk: int, email: str, *, seat="full", vote="deliberative", president=False):
    user = User(email=email, first_name="Camille", last_name=f"Martin{pk}")
    return CommissionMember(
        pk=pk,
        membership=Membership(user=user),
        seat=seat,
        vote=vote,
        is_president=president,
    )


def _meeting(starts_at: datetime, *, duration: int = 120, sequence: int = 0) -> Meeting:
    organisation = Organisation(name="Commune A", slug="commune-a")
    commission = Commission(name="Commission d\u2019appel d\u2019offres", organisation=organisation)
    return Meeting(
        uid=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        organisation=organisation,
        commission=commission,
        starts_at=starts_at,
        duration_minutes=duration,
        place="Salle du conseil, 1 place de la Mairie",
        video_url="https://visio.example.org/cao",
        sequence=sequence,
    )


MEMBERS = [
    _member(1, "presidente@example.org", president=True),
    _member(2, "titulaire@example.org"),
    _member(3, "suppleant@example.org", seat="substitute"),
    _member(4, "comptable@example.org", vote="advisory"),
]
ITEMS = [convocations.Item("2027-001", "Toiture; église, nef")]


def _parse(text: str) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


@pytest.fixture(autouse=True)
def _site(settings):
    settings.MUTUALIS_SITE_URL = "https://mutualis.example.org"
    settings.DEFAULT_FROM_EMAIL = "Mutualis <noreply@mutualis.example.org>"


def test_the_request_parses_back_with_its_people_and_agenda():
    meeting = _meeting(datetime(2027, 7, 1, 12, 0, tzinfo=UTC))
    calendar, event = _parse(
        convocations.invitation(
            meeting, method=convocations.REQUEST, members=MEMBERS, items=ITEMS, now=NOW
        )
    )
    assert calendar["METHOD"] == "REQUEST"
    assert (
        event["UID"]
        == "commission-meeting-12345678-1234-5678-1234-567812345678@mutualis.example.org"
    )
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:noreply@mutualis.example.org"
    assert event["ORGANIZER"].params["CN"] == "Commune A"
    attendees = {str(a): a.params["ROLE"] for a in event["ATTENDEE"]}
    assert attendees == {
        "mailto:presidente@example.org": "CHAIR",
        "mailto:titulaire@example.org": "REQ-PARTICIPANT",
        "mailto:suppleant@example.org": "OPT-PARTICIPANT",
        "mailto:comptable@example.org": "REQ-PARTICIPANT",
    }
    assert str(event["LOCATION"]) == "Salle du conseil, 1 place de la Mairie"
    assert "1. 2027-001 — Toiture; église, nef" in str(event["DESCRIPTION"])
    # 14:00 in Paris in summer (UTC+2), with the zone named and defined.
    start = event.decoded("DTSTART")
    assert (start.hour, start.minute, str(start.tzinfo)) == (14, 0, "Europe/Paris")
    assert start.astimezone(UTC) == datetime(2027, 7, 1, 12, 0, tzinfo=UTC)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]


@pytest.mark.parametrize(
    ("local_start", "duration", "local_end", "utc_start", "utc_end"),
    [
        # The night clocks go forward (28 March 2027, 2:00 -> 3:00): two hours from
        # 1:30 end at 4:30 on the wall clock.
        ((2027, 3, 28, 1, 30), 120, (2027, 3, 28, 4, 30), (0, 30), (2, 30)),
        # The night clocks go back (31 October 2027, 3:00 -> 2:00): two hours from
        # 1:30 end at 2:30, the second time.
        ((2027, 10, 31, 1, 30), 120, (2027, 10, 31, 2, 30), (23, 30), (1, 30)),
        # An ordinary winter afternoon: 14:00 is 13:00 UTC.
        ((2027, 12, 14, 14, 0), 90, (2027, 12, 14, 15, 30), (13, 0), (14, 30)),
    ],
)
def test_times_are_right_across_a_daylight_saving_change(
    local_start, duration, local_end, utc_start, utc_end
):
    starts_at = datetime(*local_start, tzinfo=PARIS).astimezone(UTC)
    meeting = _meeting(starts_at, duration=duration)
    _calendar, event = _parse(
        convocations.invitation(
            meeting, method=convocations.REQUEST, members=MEMBERS, items=ITEMS, now=NOW
        )
    )
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    assert start.astimezone(UTC) == starts_at
    assert (start.astimezone(UTC).hour, start.astimezone(UTC).minute) == utc_start
    assert (end.astimezone(UTC).hour, end.astimezone(UTC).minute) == utc_end
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(minutes=duration)
    assert end.astimezone(PARIS).replace(tzinfo=None) == datetime(*local_end, tzinfo=PARIS).replace(
        tzinfo=None
    )


def test_the_raw_text_carries_the_paris_zone_and_its_rules():
    meeting = _meeting(datetime(2027, 3, 28, 0, 30, tzinfo=UTC))
    text = convocations.invitation(
        meeting, method=convocations.REQUEST, members=MEMBERS, items=ITEMS, now=NOW
    )
    assert "DTSTART;TZID=Europe/Paris:20270328T013000" in text
    assert "DTEND;TZID=Europe/Paris:20270328T043000" in text
    assert "BEGIN:DAYLIGHT" in text
    assert "BEGIN:STANDARD" in text


def test_a_time_the_october_night_repeats_is_written_in_utc():
    """RFC 5545 reads 02:30 in Paris on 31 October 2027 as its first occurrence (CEST):
    an end at the second 02:30 (CET) must not be written as a Paris time."""
    meeting = _meeting(datetime(2027, 10, 30, 23, 30, tzinfo=UTC))
    text = convocations.invitation(
        meeting, method=convocations.REQUEST, members=MEMBERS, items=ITEMS, now=NOW
    )
    assert "DTSTART;TZID=Europe/Paris:20271031T013000" in text
    assert "DTEND:20271031T013000Z" in text


def test_the_cancellation_keeps_the_uid_and_carries_the_sequence():
    meeting = _meeting(datetime(2027, 7, 1, 12, 0, tzinfo=UTC), sequence=2)
    request = _parse(
        convocations.invitation(
            _meeting(meeting.starts_at, sequence=1),
            method=convocations.REQUEST,
            members=MEMBERS,
            items=ITEMS,
            now=NOW,
        )
    )[1]
    calendar, cancel = _parse(
        convocations.invitation(
            meeting, method=convocations.CANCEL, members=MEMBERS, items=ITEMS, now=NOW
        )
    )
    assert calendar["METHOD"] == "CANCEL"
    assert cancel["STATUS"] == "CANCELLED"
    assert cancel["UID"] == request["UID"]
    assert cancel["SEQUENCE"] == 2 > request["SEQUENCE"]
