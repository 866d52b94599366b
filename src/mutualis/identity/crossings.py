"""Where the identity context reads across members, each saying why (``registry.crossing``).

``scopes_disabled()`` appears only in modules named ``crossings.py`` (a test checks it).
The operator back office reads people, memberships and the platform's client applications
through the crossings of the second section (see ``mutualis.core.crossings``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.paginator import Page
from django.db.models import Count, Prefetch, Q
from django_scopes import scopes_disabled

from mutualis.core.crossings import evaluated_page
from mutualis.core.registry import crossing

if TYPE_CHECKING:
    from allauth.idp.oidc.models import Client

    from .models import ApiClient, Membership, User


@crossing
def memberships_of_user(user: Any) -> list[Membership]:
    """A person's own memberships in every organisation: the switcher, the login and the
    second-factor rule need them before any organisation is chosen."""
    from .models import Membership

    if not user.is_authenticated:
        return []
    cache = getattr(user, "_mutualis_memberships", None)
    if cache is not None:
        return cache  # type: ignore[no-any-return]
    with scopes_disabled():
        memberships = list(
            Membership.objects.filter(user=user, is_active=True)
            .select_related("organisation")
            .prefetch_related("roles")
            .order_by("organisation__name", "pk")
        )
    user._mutualis_memberships = memberships
    return memberships


def forget_memberships(user: Any) -> None:
    """Read the memberships afresh on next use (the person just joined an organisation)."""
    user._mutualis_memberships = None


# --- The operator back office ------------------------------------------------------------
#
# Operator staff manage people's accounts and their memberships of every member, and the
# applications that sign people in or call the API.


def _roles_in_order() -> Prefetch[Any]:
    from .models import Role

    return Prefetch("roles", queryset=Role.objects.order_by("position"))


def _memberships_with_roles() -> Prefetch[Any]:
    from .models import Membership

    return Prefetch(
        "memberships",
        queryset=Membership.objects.select_related("organisation")
        .prefetch_related(_roles_in_order())
        .order_by("-is_active", "organisation__name", "pk"),
    )


@crossing
def account_figures() -> tuple[int, int]:
    """The back-office dashboard counts the accounts, all and active ones: figures."""
    from .models import User

    counts = User.objects.aggregate(total=Count("pk"), active=Count("pk", filter=Q(is_active=True)))
    return counts["total"], counts["active"]


@crossing
def accounts_page(*, number: Any, per_page: int, text: str = "") -> Page[Any]:
    """The back office's list of accounts whose e-mail or name contains every word
    (accents, case and punctuation aside), each with its memberships and roles in every
    organisation: the operator finds a person to help or to attach to a member."""
    from mutualis.core import search

    from .models import User

    with scopes_disabled():
        qs = User.objects.prefetch_related(_memberships_with_roles())
        for _raw, folded in search.query_words(text):
            qs = qs.filter(search.contains_folded("search_text", folded))
        return evaluated_page(qs.order_by("email"), number, per_page)


@crossing
def account_for_operator(pk: int) -> User | None:
    """One account, with its memberships and roles in every organisation: the operator's
    page about a person."""
    from .models import User

    with scopes_disabled():
        return User.objects.prefetch_related(_memberships_with_roles()).filter(pk=pk).first()


@crossing
def membership_for_operator(pk: int) -> Membership | None:
    """One membership with its person, organisation and roles: the operator changes its
    roles, deactivates or reactivates it."""
    from .models import Membership

    with scopes_disabled():
        return (
            Membership.objects.select_related("user", "organisation")
            .prefetch_related(_roles_in_order())
            .filter(pk=pk)
            .first()
        )


@crossing
def memberships_of_organisation(organisation_id: int) -> list[Membership]:
    """The people acting for one organisation, former ones included, with their roles:
    the operator's page about a member lists them."""
    from .models import Membership

    with scopes_disabled():
        return list(
            Membership.objects.filter(organisation_id=organisation_id)
            .select_related("user")
            .prefetch_related(_roles_in_order())
            .order_by("-is_active", "user__email")
        )


@crossing
def organisation_of_membership(membership_id: int) -> int | None:
    """The organisation a membership belongs to, for the operator's use cases on it
    (change its roles, deactivate or reactivate it): they then run in that organisation's
    scope."""
    from .models import Membership

    with scopes_disabled():
        return (
            Membership.objects.filter(pk=membership_id)
            .values_list("organisation_id", flat=True)
            .first()
        )


@crossing
def organisation_of_invitation(invitation_id: int) -> int | None:
    """The organisation an invitation is for, for the operator who withdraws it: the use
    case then runs in that organisation's scope."""
    from .models import Invitation

    with scopes_disabled():
        return (
            Invitation.objects.filter(pk=invitation_id)
            .values_list("organisation_id", flat=True)
            .first()
        )


@crossing
def client_applications() -> list[Client]:
    """Every application registered to sign people in or call the API, by name: they
    belong to the platform, which the operator runs."""
    from . import oidc_clients

    return list(oidc_clients.list_clients())


@crossing
def client_application(client_id: str) -> tuple[Client, ApiClient | None] | None:
    """One registered application and, for a machine client of the API, the member or
    company it acts for: the operator renews its secret or deletes it."""
    from . import oidc_clients

    client = oidc_clients.get_client(client_id)
    if client is None:
        return None
    return client, oidc_clients.api_access_of(client)
