"""Who the identity commands act as, for the audit trail."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from mutualis.core import audit
from mutualis.core.permissions import is_operator_staff
from mutualis.identity import crossings as identity_crossings
from mutualis.identity.models import User


def add_actor_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--actor",
        metavar="EMAIL",
        help="Operator staff member in whose name the change is recorded in the audit "
        "trail (default: the command itself).",
    )


def resolve_actor(email: str | None, command: str) -> Any:
    """The operator membership of ``email``, or a SystemActor naming the command."""
    if not email:
        return audit.SystemActor(f"command:{command}")
    user = User.objects.filter(email=email.strip().lower()).first()
    membership = (
        next(
            (m for m in identity_crossings.memberships_of_user(user) if is_operator_staff(m)), None
        )
        if user
        else None
    )
    if membership is None:
        raise CommandError(f"{email} is not a member of the operator's staff.")
    return membership
