"""A second factor required by role: the middleware that leads to its set-up, and the
page that explains why.

allauth asks for the second factor at login once a person has one; it never makes anyone
set one up. A person who must have one (``selectors.requires_mfa``: operator staff, or a
role the operator marked in the back office) and has none is sent to the explanation page
from any other page, right after login, until they have set up an authenticator app or a
security key. Only the pages needed to do that stay open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from allauth.mfa import app_settings as mfa_settings
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import ResolverMatch

from mutualis.core import audit

from . import selectors

# Pages open to a signed-in person who still has to set up a second factor, by URL name.
ALLOWED_URL_NAMES = frozenset(
    {
        "identity:mfa_required",
        # allauth asks for the password again before an authenticator is added.
        "account_reauthenticate",
        "account_logout",
        # allauth refuses to add an authenticator while an address is unverified: the
        # person must be able to verify it, or remove it.
        "account_email",
        "account_email_verification_sent",
        "account_confirm_email",
        "set_language",
        # Stored files, members' logos among them: each owner kind decides who reads.
        "core:file_download",
    }
)
# Every page of allauth.mfa: the overview, the set-up of each kind of authenticator,
# the recovery codes shown after it, and the login and re-authentication steps.
MFA_URL_NAME_PREFIX = "mfa_"
# The person whose second factor this session has already seen, so that each page does
# not ask the database again.
SESSION_KEY = "mutualis_second_factor_seen"


def is_allowed_without_second_factor(match: ResolverMatch) -> bool:
    name = match.view_name or ""
    return name in ALLOWED_URL_NAMES or name.startswith(MFA_URL_NAME_PREFIX)


def must_set_up_second_factor(user: Any) -> bool:
    return (
        user.is_authenticated
        and selectors.requires_mfa(user)
        and not selectors.has_second_factor(user)
    )


def remember_second_factor(request: HttpRequest | None, user: Any) -> None:
    """At login, note in the new session whether the person has a second factor: the
    first pages then ask the database nothing more."""
    if request is None or not hasattr(request, "session"):
        return
    if selectors.has_second_factor(user):
        request.session[SESSION_KEY] = user.pk


def _on_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    remember_second_factor(request, user)


# Connected when the identity app is ready (see apps.py).
def _audit_authenticator(action: str) -> Callable[..., None]:
    """A receiver that writes an added, removed or reset second factor to the audit
    trail: the person's security changes are evidence like any other (platform chain,
    since a second factor belongs to the person, not to one organisation)."""

    def receiver(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        authenticator = kwargs["authenticator"]
        audit.record(
            actor=kwargs["user"],
            chain=audit.PLATFORM_CHAIN,
            action=action,
            target=authenticator,
            payload={"type": authenticator.type},
            **(audit.request_context(request) if request is not None else {}),
        )

    return receiver


_AUTHENTICATOR_RECEIVERS = {
    name: _audit_authenticator(f"mfa.authenticator_{name}")
    for name in ("added", "removed", "reset")
}


def connect_signals() -> None:
    from allauth.mfa import signals as mfa_signals

    user_logged_in.connect(_on_login, dispatch_uid="mutualis.identity.mfa.remember")
    for name, receiver in _AUTHENTICATOR_RECEIVERS.items():
        getattr(mfa_signals, f"authenticator_{name}").connect(
            receiver, dispatch_uid=f"mutualis.identity.mfa.audit_{name}"
        )


class RequireSecondFactorMiddleware:
    """Send a signed-in person who must have a second factor and has none to the page
    that explains it. Placed after the tenancy middleware, whose loaded memberships
    ``requires_mfa`` reads; its check runs once the URL is resolved (``process_view``),
    so that pages are told apart by name, not by path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None:
            return None
        if (match.view_name or "").startswith(MFA_URL_NAME_PREFIX):
            # Authenticators are removed on these pages only: look again afterwards.
            request.session.pop(SESSION_KEY, None)
        if is_allowed_without_second_factor(match):
            return None
        user = request.user
        if not user.is_authenticated or not selectors.requires_mfa(user):
            return None
        if request.session.get(SESSION_KEY) == user.pk:
            return None
        if selectors.has_second_factor(user):
            request.session[SESSION_KEY] = user.pk
            return None
        return redirect("identity:mfa_required")


@login_required
def mfa_required(request: HttpRequest) -> HttpResponse:
    """Why a second factor is needed, and the two ways to set one up."""
    user = request.user
    if not must_set_up_second_factor(user):
        return redirect(resolve_url(settings.LOGIN_REDIRECT_URL))
    return render(
        request,
        "identity/mfa_required.html",
        {
            "reasons": selectors.mfa_reasons(user),
            "address_unverified": (
                not mfa_settings.ALLOW_UNVERIFIED_EMAIL and selectors.has_unverified_address(user)
            ),
        },
    )
