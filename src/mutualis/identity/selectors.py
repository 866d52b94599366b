"""Reads of the identity context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from allauth.mfa.models import Authenticator

from . import crossings as identity_crossings
from .models import Role

if TYPE_CHECKING:
    from mutualis.core.models import Organisation

# The authenticators that are a second factor by themselves. Recovery codes are not:
# allauth makes them alongside one of these, as a way back in when it is lost.
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


@dataclass(frozen=True)
class MfaReason:
    """A membership that makes a second factor compulsory, and why."""

    organisation: Organisation
    operator_staff: bool
    roles: list[Role]


def mfa_reasons(user: Any) -> list[MfaReason]:
    """The person's active memberships that require a second factor: every membership of
    the operator organisation, and those with a role that requires one.

    No query of its own on a request: the tenancy middleware has already loaded the
    memberships, with their organisations and roles.
    """
    reasons = []
    for membership in identity_crossings.memberships_of_user(user):
        roles = [role for role in membership.roles.all() if role.requires_mfa]
        # Operator staff reach every member's data: not a rule the operator can lift.
        operator_staff = membership.organisation.is_operator
        if operator_staff or roles:
            reasons.append(MfaReason(membership.organisation, operator_staff, roles))
    return reasons


def requires_mfa(user: Any) -> bool:
    """Whether the person must have a second factor (see ``mfa_reasons``)."""
    return bool(mfa_reasons(user))


def has_second_factor(user: Any) -> bool:
    """Whether the person has set up an authenticator app or a security key (passkey)."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists()


def list_roles() -> list[Role]:
    """Every role, in menu order, with its service (the operator's security page)."""
    return list(Role.objects.select_related("service").order_by("position", "code"))


def has_unverified_address(user: Any) -> bool:
    """allauth refuses to add an authenticator while the account has an unverified
    e-mail address (someone who signed up with another's address could otherwise lock
    its owner out): the set-up page says so first."""
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user_id=user.pk, verified=False).exists()


def roles_offered_to(organisation_id: int) -> list[Role]:
    """The roles an administrator may give in the organisation: those of every member,
    and those of the services it subscribes to now (inside its scope)."""
    from django.db.models import Q

    from mutualis.core.models import Subscription

    subscribed = Subscription.objects.filter(
        organisation_id=organisation_id, is_active=True
    ).values("service_id")
    return list(
        Role.objects.filter(Q(service__isnull=True) | Q(service__in=subscribed)).order_by(
            "position", "code"
        )
    )
