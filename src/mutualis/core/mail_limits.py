"""Limits on the e-mails a person makes the platform send to others.

The platform's sender is trusted by the mail servers it writes to: whoever could make it
send at will (an invitation with a company name chosen by the sender in its subject, a
confirmation to anyone's address) would borrow that trust. So every such e-mail counts
against the person who asks for it, the company or organisation they act for, and the
address it goes to (settings ``MUTUALIS_*_RATE_*``, counted by ``core.ratelimit`` in the
shared cache). Over a limit, nothing is sent, the form says why, and the first refusal
of each window is audited by the caller.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _

from .errors import MailLimitReached
from .ratelimit import Limit, take

PERSON_MESSAGE = _(
    "You have asked for too many e-mails of this kind recently: nothing was sent. "
    "Try again in %(delay)s."
)
TENANT_MESSAGE = _(
    "Too many e-mails of this kind were sent for this company or organisation recently: "
    "nothing was sent. Try again in %(delay)s."
)
ADDRESS_MESSAGE = _(
    "Too many e-mails were sent to this address recently: nothing was sent. Try again in %(delay)s."
)


def invitation_limits(*, person_id: int | None, tenant: str | None, address: str) -> list[Limit]:
    """An invitation (a company's or an organisation's): per inviting person, per
    company or organisation (``tenant``, e.g. ``"company:12"``), per invited address.
    ``None`` leaves a dimension out (operator staff are not counted per person)."""
    limits = []
    if person_id is not None:
        limits.append(
            Limit(
                "invitation-person",
                str(person_id),
                settings.MUTUALIS_INVITATION_RATE_PER_PERSON,
                PERSON_MESSAGE,
            )
        )
    if tenant is not None:
        limits.append(
            Limit(
                "invitation-tenant",
                tenant,
                settings.MUTUALIS_INVITATION_RATE_PER_TENANT,
                TENANT_MESSAGE,
            )
        )
    limits.append(
        Limit(
            "invitation-address",
            address.strip().lower(),
            settings.MUTUALIS_INVITATION_RATE_PER_ADDRESS,
            ADDRESS_MESSAGE,
        )
    )
    return limits


def join_request_limits(*, person_id: int, company_id: int) -> list[Limit]:
    """A request to join a company (mailed to each of its administrators)."""
    return [
        Limit(
            "join-request-person",
            str(person_id),
            settings.MUTUALIS_JOIN_REQUEST_RATE_PER_PERSON,
            PERSON_MESSAGE,
        ),
        Limit(
            "join-request-company",
            str(company_id),
            settings.MUTUALIS_JOIN_REQUEST_RATE_PER_COMPANY,
            TENANT_MESSAGE,
        ),
    ]


def account_mail_limits(*, person_id: int | None, address: str) -> list[Limit]:
    """An account e-mail anyone may ask for (address confirmation, password reset):
    per address, and per person when signed in."""
    limits = [
        Limit(
            "account-mail-address",
            address.strip().lower(),
            settings.MUTUALIS_ACCOUNT_MAIL_RATE_PER_ADDRESS,
            ADDRESS_MESSAGE,
        )
    ]
    if person_id is not None:
        limits.append(
            Limit(
                "account-mail-person",
                str(person_id),
                settings.MUTUALIS_ACCOUNT_MAIL_RATE_PER_PERSON,
                PERSON_MESSAGE,
            )
        )
    return limits


def require(limits: list[Limit]) -> None:
    """Count one e-mail under ``limits``, or raise ``MailLimitReached`` (nothing
    counted) with the message of the limit used up and the delay until it frees."""
    refusal = take(limits)
    if refusal is None:
        return
    delay = timeuntil(timezone.now() + timedelta(seconds=refusal.wait), depth=1)
    message = refusal.limit.message or MailLimitReached.message
    raise MailLimitReached(message % {"delay": delay}, rule=refusal.limit.rule, first=refusal.first)
