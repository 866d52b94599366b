"""The two-month publication clock: reminders to the buyer's agents.

Each contract of 40,000 € excl. VAT or more is due on the national portal two months
after its notification (``generation.due_on``). Until the portal takes its entry, the
buyer's agents (role ``buyer``) are mailed 15 days before, 3 days before, and once when
it is late. Each stage is sent once: a ``DecpReminder`` row per stage, unique, written in
the transaction that queues the mail. A job that did not run for a while sends the
current stage only, never an older one after a newer.

The job is this context's (the issue had procurement declare it): the clock, its
entries and their publication are the DECP's rows, and procurement sits below the
contracts and may not read them (import-linter layers).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email
from mutualis.identity.models import Membership

from . import crossings
from .models import DecpEntry, DecpReminder, Reminder

ACTOR = audit.SystemActor("decp.reminders")
AGENT_ROLE = "buyer"
# Stages in order, with the days before the due date from which each applies.
STAGES: tuple[tuple[Reminder, int], ...] = (
    (Reminder.DAYS_15, 15),
    (Reminder.DAYS_3, 3),
    (Reminder.LATE, -1),
)
EARLIEST = 15


def stage_on(due: date, today: date) -> Reminder | None:
    """The reminder stage of an entry due on ``due``, on ``today`` (None: too early)."""
    current = None
    for stage, days_before in STAGES:
        if today >= due - timedelta(days=days_before):
            current = stage
    return current


def _later_or_same(stage: Reminder) -> list[str]:
    names = [s.value for s, _ in STAGES]
    return names[names.index(stage.value) :]


def _text(entry: DecpEntry, stage: Reminder, link: str) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "reference": entry.reference,
            "due": date_format(entry.due_on, "DATE_FORMAT"),
            "link": link,
        }
        if stage == Reminder.LATE:
            subject = gettext("DECP late: contract %(reference)s") % values
            body = gettext(
                "The essential data (DECP) of the contract %(reference)s were due on the "
                "national open-data portal by %(due)s and are not published.\n\n"
                "See what is missing: %(link)s\n"
            )
        else:
            subject = gettext("DECP due by %(due)s: contract %(reference)s") % values
            body = gettext(
                "The essential data (DECP) of the contract %(reference)s must be published "
                "on the national open-data portal by %(due)s.\n\nSee their state: %(link)s\n"
            )
    return subject, body % values


def remind_entry(*, entry_id: int, organisation_id: int, today: date, now: datetime) -> str:
    """Mail the buyer's agents about one entry not yet published, at its current stage,
    once; audited. The stage sent, or ""."""
    with transaction.atomic(), scope(organisation=organisation_id):
        entry = (
            DecpEntry.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .filter(pk=entry_id, organisation_id=organisation_id, published_at__isnull=True)
            .first()
        )
        if entry is None:
            return ""
        stage = stage_on(entry.due_on, today)
        if stage is None:
            return ""
        if DecpReminder.objects.filter(entry=entry, stage__in=_later_or_same(stage)).exists():
            return ""
        recipients = sorted(
            {
                m.user.email
                for m in Membership.objects.filter(
                    organisation_id=organisation_id, is_active=True, roles__code=AGENT_ROLE
                ).select_related("user")
                if m.user.is_active and m.user.email
            }
        )
        try:
            with transaction.atomic():
                DecpReminder.objects.create(
                    organisation_id=organisation_id,
                    entry=entry,
                    stage=stage,
                    sent_at=now,
                    recipients=len(recipients),
                )
        except IntegrityError:
            return ""  # another run sent it meanwhile
        link = absolute_url(
            reverse(
                "decp:entry",
                kwargs={"org": entry.organisation.slug, "contract_id": entry.contract_id},
            )
        )
        subject, body = _text(entry, stage, link)
        for address in recipients:
            queue_email(to=address, subject=subject, body_text=body)
        audit.record(
            actor=ACTOR,
            organisation=entry.organisation,
            action="decp.reminder_sent",
            target=entry,
            payload={
                "reference": entry.reference,
                "stage": stage.value,
                "due_on": entry.due_on.isoformat(),
                "recipients": len(recipients),
            },
        )
    return stage.value


def remind(now: datetime | None = None) -> int:
    """The daily job: every entry not yet published and due within 15 days (or late)
    reminded at its stage, each in its member's scope. The number of reminders sent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    until = today + timedelta(days=EARLIEST)
    return sum(
        1
        for entry_id, organisation_id in crossings.entries_to_remind(until)
        if remind_entry(entry_id=entry_id, organisation_id=organisation_id, today=today, now=now)
    )
