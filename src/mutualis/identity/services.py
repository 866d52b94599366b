"""Use cases of the identity context: accounts and memberships."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import ngettext
from django_scopes import scope

from mutualis.core import audit, crossings
from mutualis.core.models import Organisation
from mutualis.core.permissions import is_operator_staff, require_operator, require_role
from mutualis.core.text import clean_name

from . import crossings as identity_crossings
from . import errors
from .models import Membership, Role, User


def ensure_user(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """The account with this e-mail, created with ``password`` when missing (e-mail verified,
    since the operator vouches for it)."""
    from allauth.account.models import EmailAddress

    email = email.strip().lower()
    # Names reach others (invitations, the audit trail, OpenID claims): no invisible
    # characters (``core.text.clean_name``).
    first_name = clean_name(first_name, max_length=150)
    last_name = clean_name(last_name, max_length=150)
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=password, first_name=first_name, last_name=last_name
        )
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


# --- Memberships -----------------------------------------------------------------------


def roles_named(codes: Iterable[str]) -> list[Role]:
    """The roles of ``codes``, in code order; ``UnknownRole`` names any code that is none."""
    wanted = set(codes)
    roles = list(Role.objects.filter(code__in=wanted).order_by("code"))
    unknown = sorted(wanted - {role.code for role in roles})
    if unknown:
        raise errors.UnknownRole(
            ngettext("Unknown role: %(codes)s.", "Unknown roles: %(codes)s.", len(unknown))
            % {"codes": ", ".join(unknown)}
        )
    return roles


def _require_membership_manager(actor: Membership) -> bool:
    """Refuse unless the actor may manage memberships; True for operator staff (every
    member), False for an administrator of the actor's own organisation."""
    if is_operator_staff(actor):
        return True
    require_role(actor, Role.ORG_ADMIN)
    return False


def _managed_members(actor: Membership, membership_id: int) -> Any:
    """Where the actor's lookups on ``membership_id`` run: the scope of the organisation
    it belongs to for operator staff (found through a named crossing), the actor's own
    organisation's scope for an organisation's administrator."""
    if is_operator_staff(actor):
        return scope(organisation=_organisation_of_membership(membership_id))
    return scope(organisation=actor.organisation_id)


def _organisation_of_membership(membership_id: int) -> int:
    organisation_id = identity_crossings.organisation_of_membership(membership_id)
    if organisation_id is None:
        raise Membership.DoesNotExist
    return int(organisation_id)


def lock_organisations(organisation_ids: Iterable[int]) -> None:
    """Lock organisations' rows, in number order, until the end of the transaction.

    Whoever changes who administers an organisation takes this lock first, before any
    membership row: two administrators demoting each other (or deleting their accounts)
    at the same time then run one after the other, and the second one reads, under
    PostgreSQL's READ COMMITTED, what the first one committed. One lock taken first in a
    fixed order, rather than the administrators' rows as they come, leaves no room for a
    deadlock.
    """
    list(
        Organisation.objects.select_for_update()
        .filter(pk__in=sorted(set(organisation_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _membership_for_update(actor: Membership, membership_id: int) -> Membership:
    queryset = Membership.objects.select_for_update(of=("self",)).select_related("organisation")
    if is_operator_staff(actor):
        return queryset.get(pk=membership_id)
    lock_organisations([actor.organisation_id])
    # Read again under the lock: the actor may have been stepped down meanwhile.
    still_admin = Membership.objects.filter(
        pk=actor.pk, is_active=True, roles__code=Role.ORG_ADMIN
    ).exists()
    if not still_admin:
        raise PermissionDenied
    membership = queryset.filter(pk=membership_id, organisation_id=actor.organisation_id).first()
    if membership is None:
        # Another member's membership, or none: the same refusal, so that an
        # administrator learns nothing of other organisations.
        raise PermissionDenied
    return membership


def other_org_admins(membership: Membership) -> list[int]:
    """The other active administrators of ``membership``'s organisation; runs in a scope
    that includes that organisation, after ``lock_organisations`` when acting on it."""
    return list(
        Membership.objects.filter(
            organisation_id=membership.organisation_id,
            is_active=True,
            roles__code=Role.ORG_ADMIN,
        )
        .exclude(pk=membership.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _keep_another_org_admin(membership: Membership) -> None:
    """Refuse a change that would leave the organisation without an administrator."""
    if not other_org_admins(membership):
        raise errors.LastOrgAdmin()


@transaction.atomic(durable=True)
def add_membership(
    *,
    actor: Membership,
    organisation_id: int,
    email: str,
    roles: Iterable[str],
    request_context: Mapping[str, Any] | None = None,
) -> Membership:
    """Attach an existing account to an organisation with roles (a deactivated
    membership of the same person is reactivated)."""
    require_operator(actor)
    with scope(organisation=organisation_id):
        organisation = Organisation.objects.get(pk=organisation_id)
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise errors.UserNotFound()
        if not user.is_active:
            raise errors.UserInactive()
        wanted = roles_named(roles)
        membership = (
            Membership.objects.select_for_update()
            .filter(user=user, organisation=organisation)
            .first()
        )
        if membership is not None and membership.is_active:
            raise errors.MembershipExists()
        if membership is None:
            membership = Membership.objects.create(user=user, organisation=organisation)
            action, roles_before = "membership.granted", []
        else:
            roles_before = sorted(membership.role_codes())
            membership.is_active = True
            membership.save(update_fields=["is_active"])
            action = "membership.reactivated"
        membership.roles.set(wanted)
        audit.record(
            actor=actor,
            organisation=organisation,
            action=action,
            target=membership,
            payload={"roles_before": roles_before, "roles_after": [r.code for r in wanted]},
            **dict(request_context or {}),
        )
    return membership


@transaction.atomic(durable=True)
def change_roles(
    *,
    actor: Membership,
    membership_id: int,
    roles: Iterable[str],
    request_context: Mapping[str, Any] | None = None,
) -> Membership:
    """Give a membership exactly ``roles``; an unchanged set writes nothing.

    Operator staff may do it for any member; an administrator of an organisation for
    its own members, as long as the organisation keeps an administrator."""
    staff = _require_membership_manager(actor)
    with _managed_members(actor, membership_id):
        membership = _membership_for_update(actor, membership_id)
        wanted = roles_named(roles)
        before = sorted(membership.role_codes())
        after = [role.code for role in wanted]
        if before == after:
            return membership
        if not staff and Role.ORG_ADMIN in before and Role.ORG_ADMIN not in after:
            _keep_another_org_admin(membership)
        membership.roles.set(wanted)
        audit.record(
            actor=actor,
            organisation=membership.organisation,
            action="membership.roles_changed",
            target=membership,
            payload={"roles_before": before, "roles_after": after},
            **dict(request_context or {}),
        )
    return membership


@transaction.atomic(durable=True)
def deactivate_membership(
    *,
    actor: Membership,
    membership_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> Membership:
    """End a person's membership of an organisation (kept, with its roles, for history).

    Operator staff may do it for any member; an administrator of an organisation for
    its own members, as long as the organisation keeps an administrator."""
    staff = _require_membership_manager(actor)
    with _managed_members(actor, membership_id):
        membership = _membership_for_update(actor, membership_id)
        # Deactivating one's own membership would lock the person out mid-request.
        if membership.pk == actor.pk:
            raise errors.OwnMembership()
        if not membership.is_active:
            raise errors.MembershipNotActive()
        if not staff and membership.has_role(Role.ORG_ADMIN):
            _keep_another_org_admin(membership)
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            organisation=membership.organisation,
            action="membership.deactivated",
            target=membership,
            payload={"roles": sorted(membership.role_codes())},
            **dict(request_context or {}),
        )
    return membership


@transaction.atomic(durable=True)
def reactivate_membership(
    *,
    actor: Membership,
    membership_id: int,
    request_context: Mapping[str, Any] | None = None,
) -> Membership:
    """Give back a deactivated membership, with the roles it had."""
    require_operator(actor)
    with scope(organisation=_organisation_of_membership(membership_id)):
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("organisation", "user")
            .get(pk=membership_id)
        )
        if membership.is_active:
            raise errors.MembershipAlreadyActive()
        if not membership.user.is_active:
            raise errors.UserInactive()
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        roles = sorted(membership.role_codes())
        audit.record(
            actor=actor,
            organisation=membership.organisation,
            action="membership.reactivated",
            target=membership,
            payload={"roles_before": roles, "roles_after": roles},
            **dict(request_context or {}),
        )
    return membership


def grant_membership(
    *, actor: Any, user: User, organisation: Organisation, roles: Iterable[str]
) -> Membership:
    """Give ``user`` a membership of ``organisation`` with exactly ``roles``, on behalf of
    the platform itself (demo seeding, tests, later accepted invitations): no operator
    check. Idempotent: an unchanged membership writes nothing."""
    wanted = roles_named(roles)
    with transaction.atomic(), crossings.for_every_member():
        membership = Membership.objects.filter(user=user, organisation=organisation).first()
        created = membership is None
        if created:
            membership = Membership.objects.create(user=user, organisation=organisation)
        before = [] if created else sorted(membership.role_codes())
        after = [role.code for role in wanted]
        if not created and before == after and membership.is_active:
            return membership
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        membership.roles.set(wanted)
        audit.record(
            actor=actor,
            organisation=organisation,
            action="membership.granted" if created else "membership.roles_changed",
            target=membership,
            payload={"roles_before": before, "roles_after": after},
        )
    return membership
