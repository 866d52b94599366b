"""The standstill period ("délai de suspension" before signature), as a pure rule.

Article R2182-1 of the public procurement code: for a contract awarded by a formal
procedure, the buyer may not sign it before eleven days from the sending of the decision
(the rejection letters) to the unsuccessful bidders, sixteen days when that decision is
sent otherwise than electronically. The platform sends every letter electronically (the
e-mail and the company's page, at once), so eleven days apply; ``electronic=False``
stays for a letter also sent on paper, which the platform does not do.

Counting follows regulation (EEC, Euratom) 1182/71, which the code's periods follow:
the day of the event is not counted (art. 3(1)), the period ends at the end of its last
day (art. 3(2)(b)), and a period whose last day is a Saturday, a Sunday or a public
holiday ends at the end of the next working day (art. 3(4)). Sent on the 1st, the
period's last day is the 12th (a working day), and the contract may be signed from the
13th.

Public holidays come from the ``holidays`` library (France, metropolitan list). The
départements of Moselle (57), Bas-Rhin (67) and Haut-Rhin (68) keep two more (Good
Friday, 26 December, local law of Alsace-Moselle): a buyer there counts them too
(``holidays.France`` subdivisions ``57`` and ``6AE``). Overseas départements have their
own days (abolition of slavery): given their code, those are counted as well.

Which procedures have one: the formal procedures — open and restricted calls for
tenders, the negotiated procedure, the competitive dialogue. Not the adapted procedure
(MAPA: R2182-1 names formal procedures only), not a contract without prior publicity or
competition, not a subsequent contract of a framework agreement; nor a contract awarded
to the only bidder (the same article's exception).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

import holidays

ELECTRONIC_DAYS = 11
OTHER_DAYS = 16

# procurement.vocabulary.Procedure values (this module stays pure: plain strings).
FORMAL_PROCEDURES = frozenset({"open", "restricted", "negotiated", "competitive_dialogue"})

# The holidays library's subdivision for a département code, where its list differs
# from the metropolitan one.
_SUBDIVISIONS = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
}


def subdivision_of(departement: str | None) -> str | None:
    """The holidays subdivision of a département code ("57", "67"…), None for the
    metropolitan list."""
    return _SUBDIVISIONS.get((departement or "").strip())


@functools.lru_cache(maxsize=64)
def _calendar(subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", years=year, subdiv=subdivision).keys())


def is_holiday(day: date, *, departement: str | None = None) -> bool:
    return day in _calendar(subdivision_of(departement), day.year)


def is_working_day(day: date, *, departement: str | None = None) -> bool:
    """Monday to Friday, and not a public holiday (1182/71 art. 2(2): working days are
    all days other than public holidays, Sundays and Saturdays)."""
    return day.weekday() < 5 and not is_holiday(day, departement=departement)


def next_working_day(day: date, *, departement: str | None = None) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day, departement=departement):
        day += timedelta(days=1)
    return day


def applies(procedure: str, *, bidders: int) -> bool:
    """Whether a contract of ``procedure`` awarded among ``bidders`` on-time offers must
    wait for the standstill period."""
    return procedure in FORMAL_PROCEDURES and bidders > 1


def period_end(
    notified_on: date, *, electronic: bool = True, departement: str | None = None
) -> date:
    """The last day of the standstill period that starts with the letters sent on
    ``notified_on`` (Paris date): that day plus eleven calendar days (sixteen otherwise
    than electronically), moved to the next working day."""
    days = ELECTRONIC_DAYS if electronic else OTHER_DAYS
    return next_working_day(notified_on + timedelta(days=days), departement=departement)


def earliest_signature(
    notified_on: date, *, electronic: bool = True, departement: str | None = None
) -> date:
    """The first day the contract may be signed: the day after the period's end."""
    return period_end(notified_on, electronic=electronic, departement=departement) + timedelta(
        days=1
    )


def over(end: date | None, *, today: date) -> bool:
    """Whether a period ending on ``end`` (None: no period) is over on ``today``."""
    return end is None or today > end
