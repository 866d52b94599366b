"""The public page an invitation link opens.

Opening the link changes nothing (mail scanners open links too): accepting is a POST
from a signed-in person. Someone signed out (typically without an account yet) signs up
with the address filled in, verifies it from the e-mail, then logs in: the token waits in
the session meanwhile, and the login leads back to this page (``pending_invitation_url``,
called by the account adapter). The token leaves the session as soon as the person is
back, signed in. Logging out empties the session, token included.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from mutualis.core import audit
from mutualis.core.errors import (
    InvitationError,
    InvitationExpired,
    InvitationNotFound,
    InvitationRevoked,
    InvitationUsed,
    MutualisError,
)

from . import crossings, invitations
from .models import User

PENDING_SESSION_KEY = "mutualis_invitation_token"

# Links that worked once and no longer do: "gone" rather than "not found".
GONE = (InvitationExpired, InvitationRevoked, InvitationUsed)


def _unusable(request: HttpRequest, error: InvitationError) -> HttpResponse:
    status = 404 if isinstance(error, InvitationNotFound) else 410
    return render(
        request,
        "identity/invitation_unusable.html",
        {"error": error, "code": error.code},
        status=status,
    )


def pending_invitation_url(request: HttpRequest) -> str | None:
    """The invitation page a signed-out visitor left to sign up or log in, if any."""
    token = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(token, str):
        return None
    return reverse("invitations:accept", kwargs={"token": token})


def accept(request: HttpRequest, token: str) -> HttpResponse:
    user = request.user
    if user.is_authenticated:
        request.session.pop(PENDING_SESSION_KEY, None)
    try:
        invitation = invitations.find_invitation(token=token)
    except (InvitationNotFound, *GONE) as exc:
        return _unusable(request, exc)
    context = {"invitation": invitation, "organisation": invitation.organisation}
    if not user.is_authenticated:
        request.session[PENDING_SESSION_KEY] = token
        # The person who holds the link reads the address anyway, in the e-mail.
        has_account = User.objects.filter(email__iexact=invitation.email).exists()
        context.update(
            has_account=has_account,
            signup_url=reverse("account_signup")
            + "?"
            + urlencode({"email": invitation.email, "next": request.path}),
            login_url=reverse("account_login") + "?" + urlencode({"next": request.path}),
        )
        return render(request, "identity/invitation_accept.html", context)
    if not invitations.may_accept(user, invitation):
        return render(request, "identity/invitation_other_address.html", context, status=403)
    if any(
        m.organisation_id == invitation.organisation_id for m in crossings.memberships_of_user(user)
    ):
        context["already_member"] = True
        return render(request, "identity/invitation_accept.html", context)
    if request.method == "POST":
        try:
            membership = invitations.accept_invitation(
                user=user, token=token, request_context=audit.request_context(request)
            )
        except GONE as exc:
            return _unusable(request, exc)
        except MutualisError as exc:
            messages.error(request, exc.message)
            return redirect("core:home")
        # The memberships loaded at the start of the request lack the new one.
        crossings.forget_memberships(user)
        messages.success(
            request,
            _("Welcome: you now act for %(name)s.") % {"name": invitation.organisation.name},
        )
        return redirect("organisation:home", org=membership.organisation.slug)
    return render(request, "identity/invitation_accept.html", context)
