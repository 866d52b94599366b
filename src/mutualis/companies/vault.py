"""Rules of the business vault that need no database: a document's validity status on a
given day and the expiry reminder due for it.

The status is computed when it is read, never stored: a certificate valid until
10 December is valid all that day, expired on the 11th, without a job having to run.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Validity(enum.Enum):
    VALID = "valid"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    NO_END_DATE = "no_end_date"

    @property
    def label(self) -> str:
        return str(LABELS[self])


LABELS = {
    Validity.VALID: pgettext_lazy("vault document", "Valid"),
    Validity.EXPIRING_SOON: _("Expiring soon"),
    Validity.EXPIRED: pgettext_lazy("vault document", "Expired"),
    Validity.NO_END_DATE: _("No end date"),
}


def reminder_thresholds() -> tuple[int, ...]:
    """The days before the end of validity at which representatives are reminded
    (``MUTUALIS_VAULT_REMINDER_DAYS``), largest first, without duplicates."""
    return tuple(sorted({int(d) for d in settings.MUTUALIS_VAULT_REMINDER_DAYS}, reverse=True))


def expiring_soon_days() -> int:
    """How close to its end a document shows "expiring soon": the first reminder's."""
    thresholds = reminder_thresholds()
    return thresholds[0] if thresholds else 0


def validity(valid_until: date | None, *, today: date, soon_days: int) -> Validity:
    if valid_until is None:
        return Validity.NO_END_DATE
    if valid_until < today:
        return Validity.EXPIRED
    if (valid_until - today).days <= soon_days:
        return Validity.EXPIRING_SOON
    return Validity.VALID


def due_threshold(valid_until: date, *, today: date, thresholds: Iterable[int]) -> int | None:
    """The reminder due today for a document ending on ``valid_until``: the tightest
    threshold it has reached (30 days out: 30; 5 days out: 7, not 30 as well), None when
    it has reached none or has already ended. The job sends it unless it was sent."""
    days_left = (valid_until - today).days
    if days_left < 0:
        return None
    reached = [t for t in thresholds if days_left <= t]
    return min(reached) if reached else None
