"""System checks of the identity context, run by ``mutualis check``."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db import DatabaseError

from mutualis.core.demo import DEMO_EMAIL_SUFFIX

from .models import User


def demo_accounts(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``check --deploy`` warns when the instance holds demo accounts: their passwords
    and authenticator secrets are published, operator staff's included."""
    try:
        count = User.objects.filter(email__iendswith=DEMO_EMAIL_SUFFIX).count()
    except DatabaseError:
        # No database yet (a check before the first release): no accounts either.
        return []
    if not count:
        return []
    return [
        checks.Warning(
            f"{count} account(s) with an address ending in {DEMO_EMAIL_SUFFIX!r}: the "
            "demo's accounts, whose passwords and authenticator secrets are public.",
            hint=(
                "Delete them (and the demo's data) before this instance serves anyone, "
                "or set up a fresh database without `mutualis seed_demo`."
            ),
            id="identity.W001",
        )
    ]


def register() -> None:
    checks.register(demo_accounts, checks.Tags.security, deploy=True)
