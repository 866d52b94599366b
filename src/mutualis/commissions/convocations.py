"""Convocations: the e-mail each member receives, with an iCalendar invitation.

The invitation (RFC 5545, iTIP RFC 5546) is made with the ``icalendar`` library: one
VEVENT whose UID is the meeting's and never changes, so that a calendar updates the
event it already holds; ``SEQUENCE`` is the meeting's, raised by every change sent after
the convocation and by the cancellation (``METHOD:CANCEL``, ``STATUS:CANCELLED``).
DTSTART and DTEND are Paris wall-clock times with ``TZID=Europe/Paris`` and the
VTIMEZONE that defines it (its daylight-saving rules), so that a meeting set at 14:00
stays at 14:00 whatever the reader's zone or the date's offset.

The ORGANIZER is the platform's sending address under the organisation's name (stable
across updates, whoever sends them); no reply is asked (``RSVP=FALSE``): attendance is
recorded at the meeting. Written in French, the buyer's language; the e-mail carries an
English version of its text, as the other notifications do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar  # type: ignore[import-untyped]
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from mutualis.core.links import absolute_url
from mutualis.core.mail import Alternative, queue_email
from mutualis.procurement import deadlines

from .models import CommissionMember, Meeting, Seat, Vote

PARIS = ZoneInfo("Europe/Paris")
REQUEST = "REQUEST"
CANCEL = "CANCEL"


@dataclasses.dataclass(frozen=True)
class Item:
    reference: str
    title: str


def uid_of(meeting: Meeting) -> str:
    domain = urlsplit(settings.MUTUALIS_SITE_URL).hostname or "localhost"
    return f"commission-meeting-{meeting.uid}@{domain}"


def _organizer_address() -> str:
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return address or "noreply@localhost"


def _role(member: CommissionMember) -> str:
    if member.is_president:
        return "CHAIR"
    return "REQ-PARTICIPANT" if member.seat == Seat.FULL else "OPT-PARTICIPANT"


def _summary(meeting: Meeting) -> str:
    return _("%(commission)s — %(organisation)s") % {
        "commission": meeting.commission.name,
        "organisation": meeting.organisation.name,
    }


def _agenda_lines(items: Sequence[Item]) -> list[str]:
    return [f"{number}. {item.reference} — {item.title}" for number, item in
            enumerate(items, start=1)]  # fmt: skip


def _when(instant: datetime) -> datetime:
    """``instant`` as a Paris wall-clock time, unless that time happens twice (the last
    Sunday of October, 2:00 to 3:00): RFC 5545 (3.3.5) reads a repeated local time as
    its first occurrence, so the second one is written in UTC instead."""
    local = instant.astimezone(PARIS)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return instant.astimezone(ZoneInfo("UTC"))
    return local


def invitation(
    meeting: Meeting,
    *,
    method: str,
    members: Sequence[CommissionMember],
    items: Sequence[Item],
    now: datetime,
) -> str:
    """The iCalendar text of ``meeting``'s invitation (``method`` REQUEST or CANCEL),
    in the active language."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Mutualis//Commissions//FR")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", uid_of(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now.astimezone(ZoneInfo("UTC")))
    event.add("dtstart", _when(meeting.starts_at))
    # The end ``duration`` of elapsed time later (added in UTC: a meeting across a
    # change of the clocks lasts what it says), then shown in Paris.
    event.add("dtend", _when(meeting.starts_at + timedelta(minutes=meeting.duration_minutes)))
    event.add("summary", _summary(meeting))
    location = meeting.place or meeting.video_url
    event.add("location", location)
    description = [_("Agenda:"), *_agenda_lines(items)]
    if meeting.video_url:
        event.add("url", meeting.video_url)
        description += ["", _("Video link: %(url)s") % {"url": meeting.video_url}]
    event.add("description", "\n".join(description))
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = icalendar.vCalAddress(f"mailto:{_organizer_address()}")
    organizer.params["cn"] = icalendar.vText(meeting.organisation.name)
    event.add("organizer", organizer)
    for member in members:
        user = member.membership.user
        attendee = icalendar.vCalAddress(f"mailto:{user.email}")
        attendee.params["cn"] = icalendar.vText(user.get_full_name() or user.email)
        attendee.params["role"] = icalendar.vText(_role(member))
        attendee.params["partstat"] = icalendar.vText("NEEDS-ACTION")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        event.add("attendee", attendee)
    calendar.add_component(event)
    # The VTIMEZONE of Europe/Paris, from the zone database, for the TZID above.
    calendar.add_missing_timezones()
    return str(calendar.to_ical().decode("utf-8"))


def _seat_text(member: CommissionMember) -> str:
    seat = _("full member") if member.seat == Seat.FULL else _("substitute")
    vote = _("deliberative vote") if member.vote == Vote.DELIBERATIVE else _("advisory vote")
    if member.is_president:
        return _("president, %(vote)s") % {"vote": vote}
    return f"{seat}, {vote}"


def _body(
    meeting: Meeting,
    member: CommissionMember,
    items: Sequence[Item],
    *,
    method: str,
    update: bool,
    link: str,
) -> str:
    values = {
        "organisation": meeting.organisation.name,
        "commission": meeting.commission.name,
        "when": deadlines.display(meeting.starts_at),
        "seat": _seat_text(member),
    }
    if method == CANCEL:
        lines = [
            _("Hello,"),
            "",
            _("The meeting of %(commission)s of %(organisation)s planned on %(when)s is cancelled.")
            % values,
        ]
        if meeting.cancelled_reason:
            lines += [_("Reason: %(reason)s") % {"reason": meeting.cancelled_reason}]
    else:
        intro = (
            _(
                "The meeting of %(commission)s of %(organisation)s has changed; here is the"
                " convocation updated."
            )
            if update
            else _("You are convened to the meeting of %(commission)s of %(organisation)s.")
        )
        lines = [_("Hello,"), "", intro % values, ""]
        lines.append(_("When: %(when)s") % values)
        if meeting.place:
            lines.append(_("Place: %(place)s") % {"place": meeting.place})
        if meeting.video_url:
            lines.append(_("Video link: %(url)s") % {"url": meeting.video_url})
        lines.append(_("You sit as: %(seat)s.") % values)
        if meeting.reconvened_from_id:
            lines.append(
                _(
                    "The previous meeting lacked its quorum: this one sits without a quorum"
                    " (CGCT L1411-5)."
                )
            )
        lines += ["", _("Agenda:"), *_agenda_lines(items)]
        lines += ["", _("The invitation attached adds the meeting to your calendar.")]
    lines += ["", _("The meeting on the platform: %(url)s") % {"url": link},
              "", settings.MUTUALIS_PLATFORM_NAME]  # fmt: skip
    return "\n".join(lines)


def send(
    meeting: Meeting,
    *,
    members: Sequence[CommissionMember],
    items: Sequence[Item],
    method: str,
    update: bool,
    now: datetime,
) -> int:
    """Queue the convocation (or its update, or the cancellation) to every member with
    an address, in the caller's transaction. Returns the number of e-mails."""
    link = absolute_url(
        reverse(
            "commissions:meeting",
            kwargs={"org": meeting.organisation.slug, "pk": meeting.pk},
        )
    )
    with translation.override("fr"):
        ics = invitation(meeting, method=method, members=members, items=items, now=now)
        if method == CANCEL:
            subject = _("Cancelled: %(summary)s, %(when)s")
        elif update:
            subject = _("Convocation updated: %(summary)s, %(when)s")
        else:
            subject = _("Convocation: %(summary)s, %(when)s")
        subject = subject % {
            "summary": _summary(meeting),
            "when": deadlines.display(meeting.starts_at),
        }
    sent = 0
    for member in members:
        user = member.membership.user
        if not (user.is_active and user.email):
            continue
        bodies = []
        for language in ("fr", "en"):
            with translation.override(language):
                bodies.append(
                    _body(meeting, member, items, method=method, update=update, link=link)
                )
        queue_email(
            to=user.email,
            subject=subject,
            body_text=bodies[0] + "\n\n---- English ----\n\n" + bodies[1] + "\n",
            alternatives=[Alternative(ics, f"text/calendar; method={method}")],
        )
        sent += 1
    return sent


def items_of(agenda: Sequence[Any]) -> list[Item]:
    return [Item(a.consultation.reference, a.consultation.title) for a in agenda]
