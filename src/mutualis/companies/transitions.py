"""The life of a company's status, in one table (STYLE §5)."""

from __future__ import annotations

import enum

from .errors import TransitionNotAllowed
from .models import Company, CompanyStatus


class Event(enum.Enum):
    VERIFY = "verify"
    SUSPEND = "suspend"
    DISPUTE = "dispute"


# Verifying a suspended company reinstates it: operator staff check it again first.
# A dispute (a SIREN claimed by the wrong people) ends when operator staff verify the
# company, once its rightful representatives hold it, or suspend it.
TRANSITIONS: dict[tuple[CompanyStatus, Event], CompanyStatus] = {
    (CompanyStatus.UNVERIFIED, Event.VERIFY): CompanyStatus.VERIFIED,
    (CompanyStatus.UNVERIFIED, Event.SUSPEND): CompanyStatus.SUSPENDED,
    (CompanyStatus.VERIFIED, Event.SUSPEND): CompanyStatus.SUSPENDED,
    (CompanyStatus.SUSPENDED, Event.VERIFY): CompanyStatus.VERIFIED,
    (CompanyStatus.UNVERIFIED, Event.DISPUTE): CompanyStatus.DISPUTED,
    (CompanyStatus.VERIFIED, Event.DISPUTE): CompanyStatus.DISPUTED,
    (CompanyStatus.SUSPENDED, Event.DISPUTE): CompanyStatus.DISPUTED,
    (CompanyStatus.DISPUTED, Event.VERIFY): CompanyStatus.VERIFIED,
    (CompanyStatus.DISPUTED, Event.SUSPEND): CompanyStatus.SUSPENDED,
}


def allowed(company: Company, event: Event) -> bool:
    return (CompanyStatus(company.status), event) in TRANSITIONS


def apply(company: Company, event: Event) -> CompanyStatus:
    """Give ``company`` the status ``event`` leads to (not saved); the only writer of
    ``status``."""
    try:
        after = TRANSITIONS[(CompanyStatus(company.status), event)]
    except KeyError:
        raise TransitionNotAllowed() from None
    company.status = after
    return after
