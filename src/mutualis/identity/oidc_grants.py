"""The tokens an authorization code gave, followed through refreshes, so that a reused code
revokes them (RFC 6749, 4.1.2: "If an authorization code is used more than once, the
authorization server MUST deny the request and SHOULD revoke (when possible) all tokens
previously issued based on that authorization code").

allauth keeps codes in the cache and deletes one when it is exchanged: a second exchange
finds nothing and is refused, but the tokens of the first stay valid — and a code seen
twice means that someone else holds it (a leaked redirect, a log, a proxy). Each token
row issued from a code therefore carries the code's *grant*: the SHA-256 of the code, in
the token's ``data`` (allauth's own JSON field, which keeps the selected e-mail and the
resources beside it). Tokens issued by a refresh inherit the grant of the refresh token
they replace, so that the whole family goes at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from allauth.idp.oidc.adapter import get_adapter
from allauth.idp.oidc.internal.oauthlib import authorization_codes
from allauth.idp.oidc.models import Token
from django.core.cache import cache
from django.db import transaction

from mutualis.core import audit

GRANT_KEY = "mutualis_grant"
# How long the cache remembers that a live code is being exchanged: longer than a code
# lives (allauth: 60 seconds), so that a second exchange racing the first is caught.
EXCHANGE_MEMORY_SECONDS = 600


def grant_of_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def _exchange_key(grant: str) -> str:
    return f"mutualis.oidc.code-exchanged[{grant}]"


def _reused_key(grant: str) -> str:
    return f"mutualis.oidc.code-reused[{grant}]"


def code_is_live(*, client_id: str, code: str) -> bool:
    """Whether allauth still holds this code for this client (not yet exchanged)."""
    return bool(client_id) and authorization_codes.lookup(client_id, code) is not None


def begin_exchange(grant: str) -> bool:
    """Claim the first exchange of a live code; False when another exchange claimed it.

    ``cache.add`` is atomic in the shared cache (Redis, the database cache): of two
    requests sending the same code at once, one only goes on.
    """
    return bool(cache.add(_exchange_key(grant), True, timeout=EXCHANGE_MEMORY_SECONDS))


def tag_tokens(*, grant: str, token_values: Iterable[str]) -> None:
    """Mark the tokens just issued (by their values, from the token response) as the
    grant's."""
    adapter = get_adapter()
    hashes = [adapter.hash_token(value) for value in token_values if value]
    with transaction.atomic():
        for token in Token.objects.select_for_update().filter(hash__in=hashes):
            data = token.data if isinstance(token.data, dict) else {}
            token.data = {**data, GRANT_KEY: grant}
            token.save(update_fields=["data"])


def grant_of_refresh_token(*, client_id: str, value: str) -> str | None:
    """The grant of a refresh token (None for a token issued before grants were kept)."""
    token = (
        Token.objects.filter(client_id=client_id, type=Token.Type.REFRESH_TOKEN)
        .by_value(value)
        .first()
    )
    if token is None or not isinstance(token.data, dict):
        return None
    grant = token.data.get(GRANT_KEY)
    return grant if isinstance(grant, str) else None


def was_reused(grant: str) -> bool:
    return bool(cache.get(_reused_key(grant)))


@transaction.atomic(durable=True)
def revoke_reused_grant(*, grant: str, request_context: dict[str, Any] | None = None) -> int:
    """Delete every token issued from the code whose grant this is; audit it when any
    was still valid. Returns how many were deleted.

    Also remembers, while a racing exchange of the same code may still be issuing its
    tokens, that the code was reused: that exchange then revokes what it issued
    (``mutualis.identity.oidc_views``). Written only for a code that was really
    exchanged, so that unknown codes sent by anyone add nothing to the shared cache.
    """
    if cache.get(_exchange_key(grant)):
        cache.set(_reused_key(grant), True, timeout=EXCHANGE_MEMORY_SECONDS)
    tokens = list(Token.objects.filter(**{f"data__{GRANT_KEY}": grant}))
    if not tokens:
        return 0
    client_ids = sorted({t.client_id for t in tokens if t.client_id})
    Token.objects.filter(pk__in=[t.pk for t in tokens]).delete()
    audit.record(
        actor=audit.SystemActor("oidc"),
        chain=audit.PLATFORM_CHAIN,
        action="oidc.code_reuse_revoked",
        target=tokens[0].client,
        payload={
            "client_ids": client_ids,
            "access_tokens": sum(t.type == Token.Type.ACCESS_TOKEN for t in tokens),
            "refresh_tokens": sum(t.type == Token.Type.REFRESH_TOKEN for t in tokens),
        },
        **(request_context or {}),
    )
    return len(tokens)
