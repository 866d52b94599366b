"""Use cases of the identity context: accounts and memberships."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from mutualis.core import audit

from .models import Membership, Role, User


def ensure_user(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """The account with this e-mail, created with ``password`` when missing (e-mail verified,
    since the operator vouches for it)."""
    from allauth.account.models import EmailAddress

    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=password, first_name=first_name, last_name=last_name
        )
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


@transaction.atomic
def grant_membership(
    *, actor: Any, user: User, organisation: Any, roles: list[str], **context: Any
) -> Membership:
    """Give ``user`` a membership of ``organisation`` with exactly ``roles``.

    Writes to the member's audit chain; idempotent (an unchanged membership writes nothing).
    """
    wanted = list(Role.objects.filter(code__in=roles).order_by("code"))
    if len(wanted) != len(set(roles)):
        unknown = sorted(set(roles) - {r.code for r in wanted})
        raise ValueError(f"Unknown roles: {', '.join(unknown)}")
    membership = (
        Membership.objects.with_scope(organisation=organisation.pk)
        .filter(user=user, organisation=organisation)
        .first()
    )
    created = membership is None
    if created:
        membership = Membership.objects.create(user=user, organisation=organisation)
    before = sorted(membership.role_codes())
    after = sorted(r.code for r in wanted)
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
        **context,
    )
    return membership
