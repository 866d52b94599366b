"""Brute-force lock-out: django-axes, configured for the platform (see settings.py).

axes counts failed logins (allauth's login form calls ``django.contrib.auth.authenticate``
with the request, which axes watches) and refuses an attempt once a limit is reached:

- per account: ``AXES_FAILURE_LIMIT`` failures on one e-mail address, from any address;
- per source address: ``MUTUALIS_LOGIN_FAILURE_LIMIT_PER_ADDRESS`` failures on any
  accounts. This limit is higher because a town hall's or a school's agents share one
  public address, and five typing errors among them must not lock them all out.

Both last ``AXES_COOLOFF_TIME`` after the last counted failure; the operator may lift
them sooner with ``unlock_account`` or ``unlock_address``.

A wrong second factor (a code of the authenticator app, a recovery code, a passkey
assertion) after the right password is a failed login like a wrong password: it counts
toward the same limits, and the second-factor step refuses every attempt, the right one
included, while the account or the address is locked (``identity.mfa_forms``). One
counter for both steps, rather than a second limit of its own: the person reads one
lock-out page, the operator lifts one lock, and the per-address limit also catches codes
tried across several accounts whose passwords leaked.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessBase
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.network import client_address
from mutualis.core.permissions import require_operator

from .models import User


class AddressInvalid(MutualisError):
    code = "address_invalid"
    message = _("This is not a valid IP address.")


def username_from(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """The account a login attempt is about, as axes records it.

    allauth authenticates with ``email=``; its form posts the address as ``login``.
    Lower-cased, so that changing the case of an address does not restart the count.
    """
    value: Any = None
    if credentials:
        value = credentials.get("email") or credentials.get("username")
    elif request is not None:
        value = request.POST.get("login") or request.POST.get("email")
    if not isinstance(value, str):
        return None
    return value.strip().lower() or None


def _address_failures(request: HttpRequest, address: str) -> int:
    attempts = AccessAttempt.objects.filter(ip_address=address)
    cool_off = get_cool_off(request)
    if cool_off is not None:
        now = getattr(request, "axes_attempt_time", None) or timezone.now()
        attempts = attempts.filter(attempt_time__gte=now - cool_off)
    total = attempts.aggregate(total=Sum("failures_since_start"))["total"]
    return int(total or 0)


def lockout_parameters(
    request_or_attempt: HttpRequest | AccessBase, credentials: dict[str, Any] | None = None
) -> list[str | list[str]]:
    """What axes counts failures by: always the account; the source address too once it
    has reached its own limit.

    axes compares the largest of these counts with one limit (``AXES_FAILURE_LIMIT``);
    adding the address only past its higher limit gives the address that limit.
    """
    if isinstance(request_or_attempt, AccessBase):
        return ["username", "ip_address"]
    address = getattr(request_or_attempt, "axes_ip_address", None)
    if address is None:
        address = client_address(request_or_attempt)
    limit = max(settings.MUTUALIS_LOGIN_FAILURE_LIMIT_PER_ADDRESS, settings.AXES_FAILURE_LIMIT)
    if address and _address_failures(request_or_attempt, address) >= limit:
        return ["username", "ip_address"]
    return ["username"]


def locked_out_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The page shown instead of the login form: 429 Too Many Requests."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    response = render(
        request,
        "identity/locked_out.html",
        {"cooloff_minutes": minutes},
        status=429,
    )
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


def _second_factor_credentials(user: User) -> dict[str, str]:
    # What axes would have recorded for this account's password step (see username_from).
    return {"email": user.email.strip().lower()}


def second_factor_locked(request: HttpRequest, user: User) -> bool:
    """Whether the second-factor step of ``user`` is refused from this request: the
    account, or the source address, is locked out.

    When it is, the request is flagged the way axes flags a refused login, so that its
    middleware answers the lock-out page (429) instead of the form.
    """
    if not settings.AXES_ENABLED:
        # Only benchmarks switch axes off; allauth's own counter of failed logins
        # (``ACCOUNT_RATE_LIMITS["login_failed"]``), which its second-factor step
        # consumes, is on again then (settings.py).
        return False
    credentials = _second_factor_credentials(user)
    if AxesProxyHandler.is_allowed(request, credentials):
        return False
    request.axes_locked_out = True  # type: ignore[attr-defined]
    request.axes_credentials = credentials  # type: ignore[attr-defined]
    return True


@transaction.atomic(durable=True)
def record_second_factor_failure(
    *, request: HttpRequest, user: User, method: str, reauthentication: bool
) -> bool:
    """Count a wrong second factor toward the lock-out of the account and of the
    address, and write it to the audit trail; return whether it locked them.

    ``method`` is ``"code"`` (authenticator app or recovery code: one field takes both)
    or ``"passkey"``; ``reauthentication`` tells a signed-in person confirming an action
    from a login.
    """
    if settings.AXES_ENABLED:
        # axes' own receiver records the failure against the account and the address,
        # exactly as for a wrong password, and flags the request once a limit is reached.
        user_login_failed.send(
            sender=__name__, credentials=_second_factor_credentials(user), request=request
        )
    locked = bool(getattr(request, "axes_locked_out", False))
    # The platform's chain: a second factor belongs to the person, not to one member.
    audit.record(
        actor=user,
        chain=audit.PLATFORM_CHAIN,
        action="mfa.authentication_failed",
        payload={"method": method, "reauthentication": reauthentication, "locked_out": locked},
        **audit.request_context(request),
    )
    return locked


def _check_actor(actor: Any) -> None:
    # Operator staff act through their membership; a command run on the server acts as
    # a SystemActor, the shell access being the right.
    if not isinstance(actor, audit.SystemActor):
        require_operator(actor)


@transaction.atomic(durable=True)
def unlock_account(*, actor: Any, email: str, request_context: dict[str, Any] | None = None) -> int:
    """Lift the lock-out of an account (its failures from every address); return the
    number of attempt records cleared.

    The address of a person who keeps failing stays locked if it reached its own limit:
    ``unlock_address`` lifts that.
    """
    _check_actor(actor)
    username = email.strip().lower()
    cleared = axes_reset(username=username)
    audit.record(
        actor=getattr(actor, "user", actor),
        chain=audit.PLATFORM_CHAIN,
        action="account.unlocked",
        target=User.objects.filter(email=username).first(),
        payload={"attempts_cleared": cleared},
        **(request_context or {}),
    )
    return cleared


@transaction.atomic(durable=True)
def unlock_address(
    *, actor: Any, address: str, request_context: dict[str, Any] | None = None
) -> int:
    """Lift the lock-out of a source address (every account's failures from it)."""
    _check_actor(actor)
    try:
        address = str(ipaddress.ip_address(address.strip()))
    except ValueError as exc:
        raise AddressInvalid() from exc
    cleared = axes_reset(ip=address)
    # The address itself stays out of the hashed payload: it may identify a person.
    audit.record(
        actor=getattr(actor, "user", actor),
        chain=audit.PLATFORM_CHAIN,
        action="address.unlocked",
        payload={"attempts_cleared": cleared},
        **(request_context or {}),
    )
    return cleared
