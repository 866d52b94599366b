"""The platform as an OpenID Connect provider (django-allauth's ``allauth.idp.oidc``).

allauth serves the protocol: discovery, JWKS, authorization with consent, token, userinfo,
revocation and RP-initiated logout. This module adds what is the platform's own: the
``organisations`` scope and claim, the signing keys read from the environment or from
files, and the rate limits of the token endpoint. What of the protocol is offered (the
code flow with PKCE S256, client credentials, refresh; redirect URIs compared exactly) is
``mutualis.identity.oidc_views``; clients are registered through
``mutualis.identity.oidc_clients``.
"""

from __future__ import annotations

import base64
import functools
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from allauth.idp.oidc.forms import RPInitiatedLogoutForm
from allauth.idp.oidc.internal.clientkit import lookup_client
from allauth.idp.oidc.internal.private_keys import filter_keys
from allauth.idp.oidc.models import Client, PrivateKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import ratelimit
from mutualis.core.network import client_address

from . import crossings as identity_crossings
from .hashers import new_client_secret

# The scopes a client may be registered for, with what the consent page says of each.
SCOPES: dict[str, Any] = {
    "openid": _("Know that you have an account on the platform"),
    "email": _("View your e-mail address"),
    "profile": _("View your name"),
    "organisations": _("View the organisations you act for and your roles in each"),
    # Machine clients (client credentials) bound to a member or a company: see
    # mutualis.identity.api_clients.
    "api:read": _("Read the data of the organisation or company the client acts for"),
    "api:write": _("Change the data of the organisation or company the client acts for"),
    # Narrower than api:write, and not implied by it: drafting, publishing and rectifying
    # consultations are the buyer's acts (mutualis.procurement.api_writes).
    "procurement:write": _(
        "Draft, publish and rectify the consultations of the organisation the client acts for"
    ),
}
API_SCOPES = ("api:read", "api:write", "procurement:write")
CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "organisations",
    "groups",
]
RSA_KEY_BITS = 2048
# What the provider offers (docs/oidc.md): the code flow for people, client credentials for
# programs, refresh tokens for both kinds of tokens that have one; answers in the query.
OFFERED_GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")
OFFERED_RESPONSE_TYPES = ("code",)
OFFERED_RESPONSE_MODES = ("query",)


def organisations_claim(memberships: Iterable[Any]) -> list[dict[str, Any]]:
    """The ``organisations`` claim: one entry per active membership.

    ``siren`` is null for the few bodies without one (the operator, some associations);
    ``slug`` then identifies the organisation, as in its public address.
    """
    return [
        {
            "siren": m.organisation.siren or None,
            "slug": m.organisation.slug,
            "name": m.organisation.name,
            "roles": sorted(m.role_codes()),
        }
        for m in memberships
        if m.is_active
    ]


class OIDCAdapter(DefaultOIDCAdapter):
    scope_display = SCOPES

    def generate_client_secret(self) -> str:
        # 256 random bits, which mutualis.identity.hashers stores with one SHA-256.
        return new_client_secret()

    def get_claims(
        self,
        purpose: Literal["id_token", "userinfo"],
        user: Any,
        client: Any,
        scopes: Iterable[str],
        email: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        scopes = list(scopes)
        claims = super().get_claims(purpose, user, client, scopes, email=email, **kwargs)
        if "profile" in scopes and "name" not in claims:
            # Tools show a display name; a person who gave none is shown by e-mail.
            claims["name"] = user.email
        if "profile" in scopes and "email" in scopes:
            # Accounts have no user name; tools that key their accounts on
            # preferred_username (LimeSurvey's OpenID Connect plugins) get the e-mail.
            claims["preferred_username"] = claims.get("email", user.email)
        if "organisations" in scopes:
            claims["organisations"] = organisations_claim(
                identity_crossings.memberships_of_user(user)
            )
            # The same organisations as plain names, in the shape tools map to their own
            # groups (Nextcloud's user_oidc: --mapping-groups=groups).
            claims["groups"] = [entry["slug"] for entry in claims["organisations"]]
        return claims

    def populate_server_metadata(self, data: dict[str, Any]) -> None:
        data["scopes_supported"] = list(SCOPES)
        data["claims_supported"] = CLAIMS
        # allauth lists every grant and response type it knows; the platform offers what
        # docs/oidc.md says, and mutualis.identity.oidc_views refuses the rest.
        data["grant_types_supported"] = list(OFFERED_GRANT_TYPES)
        data["response_types_supported"] = list(OFFERED_RESPONSE_TYPES)
        data["response_modes_supported"] = list(OFFERED_RESPONSE_MODES)
        data.pop("device_authorization_endpoint", None)

    def list_private_keys(
        self,
        *,
        did_activate: Literal[True] | None = None,
        is_active: Literal[True] | None = None,
    ) -> list[PrivateKey]:
        keys = [PrivateKey(pem=pem) for pem in (current_private_key(), previous_private_key())]
        return filter_keys(
            [k for k in keys if k.pem], did_activate=did_activate, is_active=is_active
        )

    def get_signing_key(self) -> PrivateKey:
        # Always the current key: the previous one is only published, for verification.
        pem = current_private_key()
        if not pem:
            raise ImproperlyConfigured(
                "No OpenID Connect signing key: set MUTUALIS_OIDC_PRIVATE_KEY or run "
                "`mutualis init_oidc_key`."
            )
        return PrivateKey(pem=pem)


# --- Keys ------------------------------------------------------------------------------


def _read_key(value: str, path: Path) -> str:
    if value:
        return value
    path = Path(path)
    return path.read_text() if path.exists() else ""


def current_private_key() -> str:
    """PEM of the key that signs tokens ("" when none is configured)."""
    return _read_key(settings.MUTUALIS_OIDC_PRIVATE_KEY, settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH)


def previous_private_key() -> str:
    """PEM of the key retired by the last rotation, still published in the JWKS."""
    return _read_key(
        settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY,
        settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH,
    )


def new_private_key_pem(bits: int = RSA_KEY_BITS) -> str:
    """A new RSA key (ID tokens are signed with RS256, the algorithm every client knows)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def write_private_key(path: Path, pem: str) -> None:
    """Write ``pem`` to a new file readable by its owner only; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)


def remember_parsed_keys() -> None:
    """Parse each signing key once per process, not at every token.

    allauth parses the PEM of the signing key for every ID token it signs (a code
    exchange, each refresh): loading an RSA private key checks its consistency, about
    50 ms of CPU, more than the rest of the request. Its keys come from this module and
    change only with a rotation, so the parsed key is kept per PEM text (a rotated key is
    a new text, parsed once in turn). ``allauth.core.internal.jwkkit.load_pem`` is the one
    function every signing path calls; the test of this module checks it still is.
    """
    from allauth.core.internal import jwkkit

    if getattr(jwkkit.load_pem, "cache_info", None) is None:
        jwkkit.load_pem = functools.lru_cache(maxsize=8)(jwkkit.load_pem)


# --- Content-Security-Policy: forms that end at a client application -------------------

# The pages whose form may end, through the platform's redirects, at a client that skips
# the consent page: a login or a second factor with the authorization request as `next`.
_SIGN_IN_PAGES = frozenset(
    {"account_login", "account_reauthenticate", "mfa_authenticate", "mfa_reauthenticate"}
)
# What a client identifier looks like (allauth's are hexadecimal); anything else is not
# looked up, so that no odd input reaches the database.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
# A scheme, and for a web address its host and port: nothing that could end a CSP source.
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.\-]*:(//[A-Za-z0-9.\-*\[\]:]+)?$")


class ClientFormActionMiddleware:
    """Let the single sign-on's forms reach the client application they redirect to.

    The Content-Security-Policy's ``form-action 'self'`` also governs the redirects that
    follow a form (Chromium blocks them): granting consent, answering the logout question,
    or signing in on the way to a client that skips consent all end with a redirect to the
    client's address. On those pages only, and only for addresses the operator registered
    for a client (its redirect URIs, or the post-logout URI it asks for), the origins are
    added to ``form-action``; every other page keeps ``'self'``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is None or not response.get("Content-Type", "").startswith("text/html"):
            return response
        origins = _form_targets(request, match.view_name)
        if origins:
            update = dict(getattr(response, "_csp_update", None) or {})
            update["form-action"] = [*update.get("form-action", ()), *origins]
            response._csp_update = update  # type: ignore[attr-defined]
        return response


def _form_targets(request: HttpRequest, view_name: str) -> list[str]:
    params = request.POST if request.method == "POST" else request.GET
    uris: list[str] = []
    if view_name == "idp:oidc:authorization":
        client_id = params.get("client_id") or ""
        client = lookup_client(client_id) if _CLIENT_ID.match(client_id) else None
        if client is not None:
            uris = client.get_redirect_uris()
    elif view_name == "idp:oidc:logout":
        client_id = params.get("client_id") or ""
        if client_id and not _CLIENT_ID.match(client_id):
            return []
        # allauth's own validation: the URI is kept only when the client registered it.
        form = RPInitiatedLogoutForm(params)
        if form.is_valid() and form.cleaned_data.get("post_logout_redirect_uri"):
            uris = [form.cleaned_data["post_logout_redirect_uri"]]
    elif view_name in _SIGN_IN_PAGES:
        for text in Client.objects.filter(skip_consent=True).values_list(
            "redirect_uris", flat=True
        ):
            uris.extend(line.strip() for line in text.splitlines() if line.strip())
    return sorted({origin for uri in uris if (origin := _origin(uri))})


def _origin(uri: str) -> str | None:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    return origin if _ORIGIN.match(origin) else None


# --- Rate limits of the token endpoint --------------------------------------------------


class TokenRateLimitMiddleware:
    """Limit token requests per source address and per client (429, ``Retry-After``).

    Every request counts for its address (``MUTUALIS_TOKEN_RATE_PER_ADDRESS``): guessing a
    secret is slowed from any address. For a client
    (``MUTUALIS_TOKEN_RATE_PER_CLIENT``) only the tokens it obtained count: anyone can
    send a client's id, and counting failures would let a stranger lock the client out.
    allauth has no limit on this endpoint; counters live in the shared cache.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.method != "POST"
            or not settings.MUTUALIS_RATE_LIMITS_ENABLED
            or request.path != reverse("idp:oidc:token")
        ):
            return self.get_response(request)
        address = client_address(request) or "unknown"
        wait = ratelimit.hit("token-address", address, settings.MUTUALIS_TOKEN_RATE_PER_ADDRESS)
        client_id = token_client_id(request)
        rate = settings.MUTUALIS_TOKEN_RATE_PER_CLIENT
        if wait is None and client_id:
            wait = ratelimit.over("token-client", client_id, rate)
        if wait is not None:
            return _too_many_token_requests(wait)
        response = self.get_response(request)
        if client_id and response.status_code == 200:
            ratelimit.hit("token-client", client_id, rate)
        return response


def token_client_id(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _space, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return ""
        return unquote(decoded.partition(":")[0])
    # Read the body first: the token view reads it again after the form is parsed.
    request.body  # noqa: B018
    return str(request.POST.get("client_id", ""))


def _too_many_token_requests(wait: int) -> HttpResponse:
    message = str(
        _("Too many token requests: try again in %(seconds)d seconds.") % {"seconds": wait}
    )
    # The API's error shape, with the OAuth 2 fields client libraries read.
    response = JsonResponse(
        {
            "code": "rate_limited",
            "field": None,
            "message": message,
            "error": "rate_limited",
            "error_description": message,
        },
        status=429,
    )
    response["Retry-After"] = str(wait)
    response["Cache-Control"] = "no-store"
    return response
