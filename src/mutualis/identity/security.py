"""Use cases of account security: which roles require a second factor, demo authenticators.

Kept apart from ``services.py`` (accounts and memberships) so that each file stays about
one thing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from allauth.mfa.adapter import get_adapter as get_mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from django.db import transaction
from django.utils.translation import ngettext

from mutualis.core import audit
from mutualis.core.permissions import require_operator

from . import errors
from .models import Role, User


def _change_requirement(
    *, actor: Any, role: Role, required: bool, request_context: Mapping[str, Any]
) -> bool:
    if role.requires_mfa == required:
        return False
    role.requires_mfa = required
    role.save(update_fields=["requires_mfa"])
    # The platform's chain, not the operator organisation's: the rule binds every member.
    audit.record(
        actor=actor.user,
        chain=audit.PLATFORM_CHAIN,
        action="security.mfa_requirement_changed",
        target=role,
        payload={"role": role.code, "required_before": not required, "required_after": required},
        **dict(request_context),
    )
    return True


def _locked_roles(codes: Iterable[str]) -> dict[str, Role]:
    wanted = set(codes)
    roles = {role.code: role for role in Role.objects.select_for_update().filter(code__in=wanted)}
    unknown = sorted(wanted - roles.keys())
    if unknown:
        raise errors.UnknownRole(
            ngettext("Unknown role: %(codes)s.", "Unknown roles: %(codes)s.", len(unknown))
            % {"codes": ", ".join(unknown)}
        )
    return roles


@transaction.atomic(durable=True)
def set_mfa_requirement(
    *,
    actor: Any,
    role_code: str,
    required: bool,
    request_context: Mapping[str, Any] | None = None,
) -> bool:
    """Make a role require a second factor, or stop requiring it; return whether it
    changed (an unchanged rule writes nothing).

    People holding the role are led to set up a second factor at their next page
    (see ``identity.mfa``); lifting the rule removes nobody's authenticator.
    """
    require_operator(actor)
    role = _locked_roles([role_code])[role_code]
    return _change_requirement(
        actor=actor, role=role, required=required, request_context=request_context or {}
    )


@transaction.atomic(durable=True)
def set_mfa_requirements(
    *,
    actor: Any,
    requirements: Mapping[str, bool],
    request_context: Mapping[str, Any] | None = None,
) -> list[str]:
    """The back-office page's form: several roles at once, all or none; return the codes
    of the roles that changed, one audit event each."""
    require_operator(actor)
    roles = _locked_roles(requirements)
    return [
        code
        for code in sorted(roles)
        if _change_requirement(
            actor=actor,
            role=roles[code],
            required=requirements[code],
            request_context=request_context or {},
        )
    ]


def _normalised_base32(secret: str) -> str:
    secret = "".join(secret.split()).upper()
    try:
        # allauth decodes the secret the same way (base32, case-insensitive).
        base64.b32decode(secret, casefold=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("The TOTP secret must be base32.") from exc
    return secret


@transaction.atomic
def enable_totp_for_demo(*, user: User, secret: str) -> Authenticator:
    """Give ``user`` an authenticator app set up with a known base32 ``secret``, and
    recovery codes as allauth's own activation makes them. Idempotent.

    For the demo and tests only: a secret printed on a console or written in a test
    is no secret. The secret goes through allauth's TOTP activation, hence through its
    adapter's ``encrypt``, as a secret chosen in the browser would.
    """
    secret = _normalised_base32(secret)
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None and decrypt(existing.data["secret"]) == secret:
        return existing
    if existing is not None:
        existing.delete()
    authenticator = TOTP.activate(user, secret).instance
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)
    return authenticator


def demo_totp_secret(email: str) -> str:
    """The demo account's authenticator-app secret: derived from its address, so that
    running the demo seeding again prints the same one. Public by design: demo only."""
    digest = hashlib.sha256(f"mutualis-demo-totp:{email.strip().lower()}".encode()).digest()
    return base64.b32encode(digest[:20]).decode("ascii")


def totp_uri(*, user: User, secret: str) -> str:
    """The ``otpauth://`` address an authenticator app imports (allauth's own, with the
    platform's name as issuer)."""
    return get_mfa_adapter().build_totp_url(user, _normalised_base32(secret))
