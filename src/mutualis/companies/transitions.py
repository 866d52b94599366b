"""The life of a company's status, in one table (STYLE §5)."""

from __future__ import annotations

import enum

from .errors import TransitionNotAllowed
from .models import Company, CompanyStatus


class Event(enum.Enum):
    VERIFY = "verify"
    SUSPEND = "suspend"


# Verifying a suspended company reinstates it: operator staff check it again first.
TRANSITIONS: dict[tuple[CompanyStatus, Event], CompanyStatus] = {
    (CompanyStatus.UNVERIFIED, Event.VERIFY): CompanyStatus.VERIFIED,
    (CompanyStatus.UNVERIFIED, Event.SUSPEND): CompanyStatus.SUSPENDED,
    (CompanyStatus.VERIFIED, Event.SUSPEND): CompanyStatus.SUSPENDED,
    (CompanyStatus.SUSPENDED, Event.VERIFY): CompanyStatus.VERIFIED,
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
