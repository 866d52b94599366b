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

The advisory attendees from outside the organisation (``ExternalMember``) receive the
same convocation and invitation, where they are ATTENDEEs at their own address
(``OPT-PARTICIPANT``: an advisory voice); having no account, they get no link to the
platform, and the minutes come to them as a PDF attached to an e-mail (``send_minutes``).
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
from mutualis.core.mail import Alternative, Attachment, queue_email
from mutualis.procurement import deadlines

from .models import CommissionMember, ExternalMember, Meeting, Seat, Vote

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
    externals: Sequence[ExternalMember] = (),
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
    for external in externals:
        attendee = icalendar.vCalAddress(f"mailto:{external.email}")
        attendee.params["cn"] = icalendar.vText(external.name)
        attendee.params["role"] = icalendar.vText("OPT-PARTICIPANT")
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


def _external_text(external: ExternalMember) -> str:
    return _("%(quality)s, advisory vote") % {"quality": external.quality_text}


def _body(
    meeting: Meeting,
    seat: str,
    items: Sequence[Item],
    *,
    method: str,
    update: bool,
    link: str | None,
) -> str:
    """The text for one recipient sitting as ``seat``; ``link`` to the meeting's page
    (None for an attendee without an account)."""
    values = {
        "organisation": meeting.organisation.name,
        "commission": meeting.commission.name,
        "when": deadlines.display(meeting.starts_at),
        "seat": seat,
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
    if link is not None:
        lines += ["", _("The meeting on the platform: %(url)s") % {"url": link}]
    lines += ["", settings.MUTUALIS_PLATFORM_NAME]
    return "\n".join(lines)


def send(
    meeting: Meeting,
    *,
    members: Sequence[CommissionMember],
    items: Sequence[Item],
    method: str,
    update: bool,
    now: datetime,
    externals: Sequence[ExternalMember] = (),
) -> int:
    """Queue the convocation (or its update, or the cancellation) to every member with
    an address and every outside attendee, in the caller's transaction. Returns the
    number of e-mails."""
    link = absolute_url(
        reverse(
            "commissions:meeting",
            kwargs={"org": meeting.organisation.slug, "pk": meeting.pk},
        )
    )
    with translation.override("fr"):
        ics = invitation(
            meeting, method=method, members=members, items=items, now=now, externals=externals
        )
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
    # (address, how the recipient sits, the meeting's page): the members with an
    # address, then the outside attendees, who have no account, hence no page.
    recipients: list[tuple[str, CommissionMember | ExternalMember, str | None]] = [
        (m.membership.user.email, m, link)
        for m in members
        if m.membership.user.is_active and m.membership.user.email
    ]
    recipients += [(e.email, e, None) for e in externals]
    for address, recipient, page in recipients:
        bodies = []
        for language in ("fr", "en"):
            with translation.override(language):
                seat = (
                    _external_text(recipient)
                    if isinstance(recipient, ExternalMember)
                    else _seat_text(recipient)
                )
                bodies.append(_body(meeting, seat, items, method=method, update=update, link=page))
        queue_email(
            to=address,
            subject=subject,
            body_text=_bilingual(bodies),
            alternatives=[Alternative(ics, f"text/calendar; method={method}")],
        )
    return len(recipients)


def _bilingual(bodies: Sequence[str]) -> str:
    return bodies[0] + "\n\n---- English ----\n\n" + bodies[1] + "\n"


def send_minutes(
    meeting: Meeting, *, externals: Sequence[ExternalMember], filename: str, content: bytes
) -> int:
    """Queue the minutes' PDF to each outside attendee (who has no account to read them
    on the platform), in the caller's transaction. Returns the number of e-mails."""
    with translation.override("fr"):
        subject = _("Minutes: %(summary)s, %(when)s") % {
            "summary": _summary(meeting),
            "when": deadlines.display(meeting.starts_at),
        }
    bodies = []
    for language in ("fr", "en"):
        with translation.override(language):
            values = {
                "commission": meeting.commission.name,
                "organisation": meeting.organisation.name,
                "when": deadlines.display(meeting.starts_at),
            }
            text = _(
                "The minutes of the meeting of %(commission)s of %(organisation)s held on"
                " %(when)s are attached."
            )
            bodies.append(
                "\n".join([_("Hello,"), "", text % values, "", settings.MUTUALIS_PLATFORM_NAME])
            )
    for external in externals:
        queue_email(
            to=external.email,
            subject=subject,
            body_text=_bilingual(bodies),
            attachments=[Attachment(filename, "application/pdf", content)],
        )
    return len(externals)


def items_of(agenda: Sequence[Any]) -> list[Item]:
    return [Item(a.consultation.reference, a.consultation.title) for a in agenda]
