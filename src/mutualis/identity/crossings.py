"""Where the identity context reads across members, each saying why (``registry.crossing``).

``scopes_disabled()`` appears only in modules named ``crossings.py`` (a test checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_scopes import scopes_disabled

from mutualis.core.registry import crossing

if TYPE_CHECKING:
    from .models import Membership


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
