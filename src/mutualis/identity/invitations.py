"""Invitations: an organisation's administrator (or operator staff) invites an agent by
e-mail; the person accepts through a single-use link that expires.

The token, its digest, its lifetime and its single use are ``core.invitations``, shared
with the companies' invitations. The token starts with the organisation's number: the
public acceptance page looks the invitation up inside that organisation's scope alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope

from mutualis.core import audit, mail_limits
from mutualis.core import invitations as links
from mutualis.core.errors import InvitationForAnotherAddress, MailLimitReached
from mutualis.core.mail import queue_email, render_text
from mutualis.core.models import Organisation
from mutualis.core.permissions import is_operator_staff, require_role

from . import crossings as identity_crossings
from . import errors
from .models import Invitation, Membership, Role, User
from .services import roles_named


def _acting_scope(actor: Membership, organisation_id: int) -> Any:
    """Check that the actor may manage the invitations of ``organisation_id`` and give
    the scope to do it in: that organisation's, for operator staff whichever it is, for
    an administrator only when it is the organisation they act for."""
    if is_operator_staff(actor):
        return scope(organisation=organisation_id)
    require_role(actor, Role.ORG_ADMIN)
    if organisation_id != actor.organisation_id:
        raise PermissionDenied
    return scope(organisation=organisation_id)


# --- Sending and withdrawing -----------------------------------------------------------


def send_invitation(
    *,
    actor: Membership,
    email: str,
    roles: Iterable[str],
    site_url: str,
    organisation_id: int | None = None,
    request_context: Mapping[str, Any] | None = None,
) -> Invitation:
    """Invite ``email`` to act for the organisation (the actor's own unless operator
    staff name another one) with ``roles``, and queue the e-mail with the link.

    An open invitation to the same address is withdrawn: the last link sent is the only
    one that works, which is what "send it again" means to an administrator.
    ``site_url`` is the platform's address that the link starts with.

    Each invitation counts against the inviting person, the organisation and the
    invited address (``core.mail_limits``; operator staff only per address); over a
    limit nothing is sent and the refusal is audited, in a transaction of its own.
    """
    organisation_id = organisation_id or actor.organisation_id
    try:
        return _send_invitation(
            actor=actor,
            email=email,
            roles=roles,
            site_url=site_url,
            organisation_id=organisation_id,
            request_context=request_context,
        )
    except MailLimitReached as exc:
        if exc.first:
            _record_mail_refused(
                actor=actor,
                organisation_id=organisation_id,
                rule=exc.rule,
                request_context=request_context,
            )
        raise


@transaction.atomic(durable=True)
def _record_mail_refused(
    *,
    actor: Membership,
    organisation_id: int,
    rule: str,
    request_context: Mapping[str, Any] | None,
) -> None:
    with _acting_scope(actor, organisation_id):
        organisation = Organisation.objects.get(pk=organisation_id)
        audit.record(
            actor=actor,
            organisation=organisation,
            action="invitation.mail_refused",
            target=organisation,
            payload={"limit": rule},
            **dict(request_context or {}),
        )


@transaction.atomic(durable=True)
def _send_invitation(
    *,
    actor: Membership,
    email: str,
    roles: Iterable[str],
    site_url: str,
    organisation_id: int,
    request_context: Mapping[str, Any] | None,
) -> Invitation:
    with _acting_scope(actor, organisation_id):
        organisation = Organisation.objects.get(pk=organisation_id)
        email = email.strip().lower()
        wanted = roles_named(roles)
        user = User.objects.filter(email__iexact=email).first()
        if user is not None:
            if not user.is_active:
                raise errors.UserInactive()
            if Membership.objects.filter(
                user=user, organisation=organisation, is_active=True
            ).exists():
                raise errors.MembershipExists()
        staff = is_operator_staff(actor)
        mail_limits.require(
            mail_limits.invitation_limits(
                person_id=None if staff else actor.user_id,
                tenant=None if staff else f"organisation:{organisation.pk}",
                address=email,
            )
        )
        now = timezone.now()
        context = dict(request_context or {})
        replaced = links.withdraw_open(
            Invitation.objects.filter(organisation=organisation, email=email), now=now
        )
        for old in replaced:
            audit.record(
                actor=actor,
                organisation=organisation,
                action="invitation.revoked",
                target=old,
                payload={"reason": "replaced"},
                **context,
            )
        token, digest = links.issue_token(organisation.pk)
        invitation = Invitation.objects.create(
            organisation=organisation,
            email=email,
            invited_by=actor,
            token_digest=digest,
            expires_at=links.expiry(now),
        )
        invitation.roles.set(wanted)
        # No address in the hashed payload: the event names the invitation's row.
        audit.record(
            actor=actor,
            organisation=organisation,
            action="invitation.sent",
            target=invitation,
            payload={
                "roles": [role.code for role in wanted],
                "expires_at": invitation.expires_at.isoformat(),
                "replaces": [old.pk for old in replaced],
            },
            **context,
        )
        _queue_invitation_email(
            invitation=invitation,
            organisation=organisation,
            roles=wanted,
            inviter=actor,
            link=site_url.rstrip("/") + reverse("invitations:accept", kwargs={"token": token}),
        )
    return invitation


def _queue_invitation_email(
    *,
    invitation: Invitation,
    organisation: Organisation,
    roles: list[Role],
    inviter: Membership,
    link: str,
) -> None:
    context = {
        "organisation": organisation,
        "roles": roles,
        "inviter": inviter.user.get_full_name() or inviter.user.email,
        "link": link,
        "expires_at": invitation.expires_at,
        "platform_name": settings.MUTUALIS_PLATFORM_NAME,
    }
    # The invited person's language is unknown: the platform's own (French) it is,
    # whatever language the administrator's pages were in.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_text("identity/email/invitation_subject.txt", context)
        body_text = render_text("identity/email/invitation_message.txt", context)
        body_html = render_to_string("identity/email/invitation_message.html", context)
    queue_email(
        to=invitation.email,
        subject=" ".join(subject.split()),
        body_text=body_text,
        body_html=body_html,
        # The link is the invitation: whoever reads it may accept it.
        secrets=[link],
    )


@transaction.atomic(durable=True)
def revoke_invitation(
    *,
    actor: Membership,
    invitation_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> Invitation:
    """Withdraw an invitation that nobody accepted: its link stops working."""
    staff = is_operator_staff(actor)
    if not staff:
        require_role(actor, Role.ORG_ADMIN)
    if staff:
        # The invitation's organisation, through a named crossing; its scope then.
        organisation_id = identity_crossings.organisation_of_invitation(invitation_id)
        if organisation_id is None:
            raise PermissionDenied
    else:
        organisation_id = actor.organisation_id
    with scope(organisation=organisation_id):
        queryset = Invitation.objects.select_for_update(of=("self",)).select_related("organisation")
        if not staff:
            queryset = queryset.filter(organisation_id=actor.organisation_id)
        invitation = queryset.filter(pk=invitation_id).first()
        if invitation is None:
            # Another member's invitation, or none: the same refusal.
            raise PermissionDenied
        links.revoke(invitation, now=timezone.now())
        audit.record(
            actor=actor,
            organisation=invitation.organisation,
            action="invitation.revoked",
            target=invitation,
            payload={"reason": "withdrawn"},
            **dict(request_context or {}),
        )
    return invitation


# --- Accepting -------------------------------------------------------------------------


def find_invitation(*, token: str) -> Invitation:
    """The invitation a link opens, with its organisation and roles loaded, for the public
    acceptance page; raises the error to show when the link no longer works."""
    organisation_id = links.owner_of(token)
    with scope(organisation=organisation_id):
        return links.find_usable(
            Invitation.objects.filter(organisation_id=organisation_id)
            .select_related("organisation", "invited_by__user")
            .prefetch_related("roles"),
            token,
        )


def may_accept(user: Any, invitation: Invitation) -> bool:
    """Whether the invited address is a verified address of ``user``'s account."""
    return EmailAddress.objects.filter(
        user_id=user.pk, email__iexact=invitation.email, verified=True
    ).exists()


@transaction.atomic(durable=True)
def accept_invitation(
    *,
    user: User,
    token: str,
    request_context: Mapping[str, Any] | None = None,
) -> Membership:
    """Give ``user`` the membership an invitation offers, and use the link up.

    The invited address must be a verified address of the account: a forwarded link
    does not let someone else in. A deactivated membership of the same person is
    given back with the invited roles.
    """
    organisation_id = links.owner_of(token)
    context = dict(request_context or {})
    # The person's row first, as the account deletion does: an account deleted meanwhile
    # is seen as such, and never left with a membership made behind its back.
    user = User.objects.select_for_update().get(pk=user.pk)
    with scope(organisation=organisation_id):
        # Locked: two clicks on the link (or two tabs) give one membership, and the
        # second one is told the link is used.
        invitation = links.lock_usable(
            Invitation.objects.filter(organisation_id=organisation_id).select_related(
                "organisation"
            ),
            token,
        )
        if not user.is_active:
            raise errors.UserInactive()
        if not may_accept(user, invitation):
            raise InvitationForAnotherAddress()
        organisation = invitation.organisation
        roles = list(invitation.roles.order_by("code"))
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .filter(user=user, organisation=organisation)
            .first()
        )
        if membership is not None and membership.is_active:
            raise errors.AlreadyMember()
        if membership is None:
            membership = Membership.objects.create(user=user, organisation=organisation)
            action, roles_before = "membership.granted", []
        else:
            roles_before = sorted(membership.role_codes())
            membership.is_active = True
            membership.save(update_fields=["is_active"])
            action = "membership.reactivated"
        membership.roles.set(roles)
        links.mark_accepted(invitation, now=timezone.now(), membership=membership)
        audit.record(
            actor=user,
            organisation=organisation,
            action="invitation.accepted",
            target=invitation,
            payload={"membership": membership.pk},
            **context,
        )
        audit.record(
            actor=user,
            organisation=organisation,
            action=action,
            target=membership,
            payload={
                "roles_before": roles_before,
                "roles_after": [role.code for role in roles],
                "invitation": invitation.pk,
            },
            **context,
        )
    return membership
