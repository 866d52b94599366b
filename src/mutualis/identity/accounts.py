"""A person's own account: deletion by anonymisation.

An account is never deleted as a row: the procurement records it signed and the audit
trail must be kept (public procurement records are archived for years by law), and they
point to it. What identifies the person is erased instead: e-mail addresses, names, the
second factors, the login history kept for the lock-out, and what the audit trail knows
of them outside its hashed fields (name, e-mail, source addresses); the events keep a
bare pseudonym, so every chain still verifies.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.idp.oidc.models import Token
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit
from mutualis.identity import crossings as identity_crossings

from . import errors
from .models import Invitation, Membership, Role, User
from .services import lock_organisations, other_org_admins


def anonymised_email(user: User) -> str:
    # ".invalid" is reserved (RFC 2606): nothing is ever delivered there. The audit
    # pseudonym keeps the address unique and already appears in the events.
    return f"deleted-{user.audit_pseudonym.hex}@invalid"


def organisations_left_without_admin(user: User, *, lock: bool = False) -> list[str]:
    """Names of the organisations the person is the last active administrator of: the
    account cannot be deleted yet. ``lock`` (inside a transaction) first locks those
    organisations, so that no other administrator leaves meanwhile."""
    administered = [
        m for m in identity_crossings.memberships_of_user(user) if m.has_role(Role.ORG_ADMIN)
    ]
    if lock:
        lock_organisations(m.organisation_id for m in administered)
    names = []
    for membership in administered:
        with scope(organisation=membership.organisation_id):
            if not other_org_admins(membership):
                names.append(membership.organisation.name)
    return names


@transaction.atomic(durable=True)
def delete_account(*, user: User) -> User:
    """Anonymise the person's account and end their memberships.

    Refused while the person is the last administrator of an organisation, which would
    be left with nobody able to manage its members. One ``account.deleted`` event goes to
    the chain of each organisation the person acted for, one to the platform's; their
    payloads hold identifiers only.
    """
    # A fresh row, locked, so that the memberships read below are not the ones a request
    # cached on its own user object.
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise errors.UserInactive()
    last_admin_of = organisations_left_without_admin(user, lock=True)
    if last_admin_of:
        raise errors.LastOrgAdminOfAccount(
            errors.LastOrgAdminOfAccount.message % {"organisations": ", ".join(last_admin_of)}
        )
    memberships = identity_crossings.memberships_of_user(user)
    addresses = {user.email.lower()} | {
        address.lower()
        for address in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    }
    new_email = anonymised_email(user)
    now = timezone.now()

    for membership in memberships:
        with scope(organisation=membership.organisation_id):
            Membership.objects.filter(pk=membership.pk).update(is_active=False)
            invitations = Invitation.objects.filter(organisation_id=membership.organisation_id)
            invitations.filter(
                email__in=addresses, accepted_at__isnull=True, revoked_at__isnull=True
            ).update(revoked_at=now)
            invitations.filter(Q(email__in=addresses) | Q(membership=membership)).update(
                email=new_email
            )
            audit.record(
                actor=user,
                organisation=membership.organisation,
                action="account.deleted",
                target=membership,
                payload={"roles": sorted(membership.role_codes())},
            )
    audit.record(
        actor=user,
        action="account.deleted",
        target=user,
        payload={"memberships": [membership.pk for membership in memberships]},
    )

    user.email = new_email
    user.first_name = ""
    user.last_name = ""
    user.set_unusable_password()
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    # Every other session of the person ends at its next request: Django checks a hash of
    # the password stored in each session, and refuses inactive accounts.
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    # Access and refresh tokens given to the single sign-on's client applications.
    Token.objects.filter(user=user).delete()
    # The lock-out's records name the account by its address.
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__in=addresses).delete()
    audit.erase_subject(user.audit_pseudonym)
    user._mutualis_memberships = []  # type: ignore[attr-defined]
    return user
