"""How long a signed-in session lasts, and what signed-in pages let browsers keep.

Members' agents often work on shared computers (a town hall's front desk, a school's
office), where the next person sits down at a browser still signed in. So:

- every session ends ``MUTUALIS_SESSION_MAX_HOURS`` after its login, however active;
- the session of a person holding a privileged standing — operator staff, or a role of
  ``MUTUALIS_PRIVILEGED_ROLES`` (administrators, buyers, commission members) in any
  active membership — also ends after ``MUTUALIS_PRIVILEGED_IDLE_MINUTES`` without a
  request;
- every response to a signed-in request is ``Cache-Control: private, no-store``, so that
  neither the browser's history nor a shared proxy keeps a copy of a member's page.

An ended session is logged out, audited (``session.expired``) and sent to the login page
with a message; the login then leads back to the page asked for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _

from mutualis.core import audit

from . import crossings

# Seconds since the epoch, kept in the session: when the person logged in, and the last
# request seen (refreshed at most once a minute, so that each page does not write the
# session row).
STARTED_KEY = "mutualis_session_started"
SEEN_KEY = "mutualis_session_seen"
SEEN_RESOLUTION = 60

IDLE = "idle"
LIFETIME = "lifetime"
MESSAGES = {
    IDLE: _(
        "For your security, your session ended after a period without activity. "
        "Sign in again to continue."
    ),
    LIFETIME: _(
        "For your security, your session reached its maximum duration. Sign in again to continue."
    ),
}


def now() -> float:
    return time.time()


def is_privileged(user: Any) -> bool:
    """Whether the person holds a standing whose session must not stay open unattended:
    operator staff, or a privileged role in any active membership."""
    roles = set(settings.MUTUALIS_PRIVILEGED_ROLES)
    for membership in crossings.memberships_of_user(user):
        if membership.organisation.is_operator:
            return True
        if any(role.code in roles for role in membership.roles.all()):
            return True
    return False


def expiry_reason(request: HttpRequest, user: Any, at: float) -> str | None:
    """Why the session of this request has ended, or None while it lasts."""
    session = request.session
    started = session.get(STARTED_KEY)
    seen = session.get(SEEN_KEY)
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        # A session from before these rules: its clock starts now.
        session[STARTED_KEY] = session[SEEN_KEY] = int(at)
        return None
    if at - started > settings.MUTUALIS_SESSION_MAX_HOURS * 3600:
        return LIFETIME
    # Memberships are read only when the idle time is exceeded: most requests of an
    # active person cost no query here.
    if at - seen > settings.MUTUALIS_PRIVILEGED_IDLE_MINUTES * 60 and is_privileged(user):
        return IDLE
    if at - seen >= SEEN_RESOLUTION:
        session[SEEN_KEY] = int(at)
    return None


@transaction.atomic(durable=True)
def record_expiry(*, request: HttpRequest, user: Any, reason: str) -> None:
    # The platform's chain: a session belongs to the person, not to one member.
    audit.record(
        actor=user,
        chain=audit.PLATFORM_CHAIN,
        action="session.expired",
        payload={"reason": reason},
        **audit.request_context(request),
    )


def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[STARTED_KEY] = request.session[SEEN_KEY] = int(now())


def connect_signals() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="mutualis.identity.sessions.started")


class SessionLifetimeMiddleware:
    """Ends sessions past their lifetime or idle time, and keeps signed-in responses out
    of every cache. After the authentication and message middlewares; before the
    tenancy middleware, so that an ended session on a member's page leads to the login
    page rather than to that page's 404 for strangers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        signed_in = user.is_authenticated
        if signed_in:
            reason = expiry_reason(request, user, now())
            if reason is not None:
                record_expiry(request=request, user=user, reason=reason)
                logout(request)
                messages.info(request, MESSAGES[reason])
                response: HttpResponse = redirect_to_login(request.get_full_path())
                return self._private(response)
        response = self.get_response(request)
        # A login during this request counts too: its redirect may carry the new cookie.
        if signed_in or request.user.is_authenticated:
            self._private(response)
        return response

    @staticmethod
    def _private(response: HttpResponse) -> HttpResponse:
        # A response that declared itself public (a member's logo) carries nothing
        # personal: shared caches may keep it.
        if "public" not in response.get("Cache-Control", ""):
            patch_cache_control(response, private=True, no_store=True)
        return response
