"""The only places where a query crosses members, each saying why.

``scopes_disabled()`` appears nowhere else in the code (a test checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, QuerySet
from django_scopes import scopes_disabled

if TYPE_CHECKING:
    from mutualis.companies.models import JoinRequest, Representative
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
            # Whether the person also represents a company: spares the many agents who
            # do not a query of their own on every page (see representations_of_user).
            .annotate(represents_company=_represents_a_company())
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


def representations_of_user(user: Any, *, refresh: bool = False) -> list[Representative]:
    """A person's own active representations of every company: the switcher needs them
    before any company is chosen. ``refresh`` rereads them after the person joined one
    in the same request."""
    from mutualis.companies.models import Representative

    if not user.is_authenticated:
        return []
    cache = getattr(user, "_mutualis_representations", None)
    if cache is not None and not refresh:
        return cache
    memberships = [] if refresh else memberships_of_user(user)
    if memberships and not any(m.represents_company for m in memberships):
        user._mutualis_representations = []
        return []
    with scopes_disabled():
        representations = list(
            Representative.objects.filter(user=user, is_active=True)
            .select_related("company")
            .order_by("company__name", "pk")
        )
    user._mutualis_representations = representations
    return representations


def _represents_a_company() -> Exists:
    from mutualis.companies.models import Representative

    return Exists(Representative.objects.filter(user=OuterRef("user"), is_active=True))


def join_requests_of_user(user: Any) -> list[JoinRequest]:
    """A person's own requests to join companies, in every company: the person follows
    them before any company accepts them."""
    from mutualis.companies.models import JoinRequest

    if not user.is_authenticated:
        return []
    with scopes_disabled():
        return list(
            JoinRequest.objects.filter(user=user)
            .select_related("company")
            .order_by("-created_at", "-pk")
        )
