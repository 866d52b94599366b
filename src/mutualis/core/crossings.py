"""The only places where a query crosses members, each saying why.

``scopes_disabled()`` appears nowhere else in the code (a test checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django_scopes import scopes_disabled

if TYPE_CHECKING:
    from mutualis.identity.models import Membership


def memberships_of_user(user: Any) -> list[Membership]:
    """A person's own memberships in every organisation: the switcher and the login need
    them before any organisation is chosen."""
    from mutualis.identity.models import Membership

    if not user.is_authenticated:
        return []
    cache = getattr(user, "_mutualis_memberships", None)
    if cache is not None:
        return cache
    with scopes_disabled():
        memberships = list(
            Membership.objects.filter(user=user, is_active=True)
            .select_related("organisation")
            .prefetch_related("roles")
            .order_by("organisation__name", "pk")
        )
    user._mutualis_memberships = memberships
    return memberships


def operator_view() -> Any:
    """The operator back office reads every member's rows: its views run inside this
    context (and check first that the person is operator staff)."""
    return scopes_disabled()


def for_every_member() -> Any:
    """Platform jobs over all members (audit checkpoints and verification, imports)."""
    return scopes_disabled()


def active_subscriptions_public(organisation_id: int) -> QuerySet[Any]:
    """The services a member subscribes to, shown on its public page: public facts."""
    from .models import Subscription

    with scopes_disabled():
        return list(  # type: ignore[return-value]
            Subscription.objects.filter(organisation_id=organisation_id, is_active=True)
            .select_related("service")
            .order_by("service__position")
        )
