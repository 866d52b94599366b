"""Where the platform core reads across members, each saying why (``registry.crossing``).

``scopes_disabled()`` appears only in modules named ``crossings.py`` (a test checks it);
each context keeps its own (``identity/crossings.py``, ``companies/crossings.py``).
"""

from __future__ import annotations

from typing import Any

from django_scopes import scopes_disabled

from .registry import crossing


@crossing
def operator_view() -> Any:
    """The operator back office reads every member's rows: its views run inside this
    context (and check first that the person is operator staff)."""
    return scopes_disabled()


@crossing
def for_every_member() -> Any:
    """Platform jobs over all members (audit checkpoints and verification, imports,
    the demo data, release steps)."""
    return scopes_disabled()


@crossing
def active_subscriptions_public(organisation_id: int) -> list[Any]:
    """The services a member subscribes to, shown on its public page: public facts."""
    from .models import Subscription

    with scopes_disabled():
        return list(
            Subscription.objects.filter(organisation_id=organisation_id, is_active=True)
            .select_related("service")
            .order_by("service__position")
        )
