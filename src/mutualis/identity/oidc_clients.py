"""Registering the applications that sign their users in through the platform (OpenID
Connect clients): the operator's use case, for its back office and its command line."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from allauth.idp.oidc.models import Client
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.permissions import require_operator

from .hashers import hash_client_secret, new_client_secret
from .models import ApiClient
from .oidc import API_SCOPES, SCOPES

GRANT_TYPES = (
    Client.GrantType.AUTHORIZATION_CODE,
    Client.GrantType.REFRESH_TOKEN,
    Client.GrantType.CLIENT_CREDENTIALS,
)
# Plain http is allowed for a tool running on the developer's own machine only.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class ClientRegistrationError(MutualisError):
    # MutualisError puts ``field_name`` on ``field`` for the form.
    code = "oidc_client_invalid"


class NameRequired(ClientRegistrationError):
    code = "oidc_client_name_required"
    field_name = "name"
    message = _("Give the application a name.")


class RedirectUriInvalid(ClientRegistrationError):
    code = "oidc_redirect_uri_invalid"
    field_name = "redirect_uris"
    message = _(
        "Each redirect address must be a full https:// address without a fragment "
        "(http:// only for localhost)."
    )


class RedirectUriRequired(ClientRegistrationError):
    code = "oidc_redirect_uri_required"
    field_name = "redirect_uris"
    message = _("An application that signs people in needs at least one redirect address.")


class ScopeUnknown(ClientRegistrationError):
    code = "oidc_scope_unknown"
    field_name = "scopes"
    message = _(
        "Unknown scope. Known scopes: openid, email, profile, organisations, api:read, "
        "api:write, procurement:write."
    )


class GrantTypeUnknown(ClientRegistrationError):
    code = "oidc_grant_type_unknown"
    field_name = "grant_types"
    message = _(
        "Unknown grant type. Known grant types: authorization_code, refresh_token, "
        "client_credentials."
    )


class PublicClientCredentials(ClientRegistrationError):
    code = "oidc_public_client_credentials"
    field_name = "grant_types"
    message = _("A public application has no secret, so it cannot use client credentials.")


class ApiClientActsForNobody(ClientRegistrationError):
    code = "oidc_api_client_acts_for_nobody"
    field_name = "acts_for"
    message = _(
        "A client with the api:read or api:write scope acts for one member organisation "
        "or one company: choose it."
    )


class ApiClientActsForTwo(ClientRegistrationError):
    code = "oidc_api_client_acts_for_two"
    field_name = "acts_for"
    message = _("A client acts for one member organisation or one company, not both.")


class ApiClientWithoutApiScope(ClientRegistrationError):
    code = "oidc_api_client_without_api_scope"
    field_name = "scopes"
    message = _(
        "A client that acts for an organisation or a company needs the api:read or api:write scope."
    )


class ApiClientNeedsClientCredentials(ClientRegistrationError):
    code = "oidc_api_client_needs_client_credentials"
    field_name = "grant_types"
    message = _(
        "The api:read and api:write scopes are for machine clients: allow the client "
        "credentials grant, and no other."
    )


def validate_redirect_uri(uri: str) -> str:
    """An absolute https URI (http for a loopback host), no fragment, no wildcard."""
    uri = uri.strip()
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError as exc:
        raise RedirectUriInvalid() from exc
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    )
    if not secure or not parts.hostname or parts.fragment or "*" in uri or " " in uri:
        raise RedirectUriInvalid()
    return uri


def _clean_list(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _check_api_binding(
    scopes: list[str],
    grant_types: list[str],
    confidential: bool,
    organisation_id: int | None,
    company_id: int | None,
) -> None:
    wants_api = any(scope in API_SCOPES for scope in scopes)
    if organisation_id and company_id:
        raise ApiClientActsForTwo()
    if wants_api and not (organisation_id or company_id):
        raise ApiClientActsForNobody()
    if (organisation_id or company_id) and not wants_api:
        raise ApiClientWithoutApiScope()
    if wants_api and (
        not confidential or grant_types != [str(Client.GrantType.CLIENT_CREDENTIALS)]
    ):
        raise ApiClientNeedsClientCredentials()


def _check_actor(actor: Any) -> None:
    # Operator staff act through their membership; a command run on the server acts as
    # a SystemActor, the shell access being the right.
    if not isinstance(actor, audit.SystemActor):
        require_operator(actor)


@transaction.atomic(durable=True)
def register_client(
    *,
    actor: Any,
    name: str,
    redirect_uris: Iterable[str] = (),
    scopes: Iterable[str] = ("openid", "email", "profile", "organisations"),
    confidential: bool = True,
    grant_types: Iterable[str] = (Client.GrantType.AUTHORIZATION_CODE,),
    post_logout_redirect_uris: Iterable[str] = (),
    skip_consent: bool = False,
    organisation_id: int | None = None,
    company_id: int | None = None,
    request_context: dict[str, Any] | None = None,
) -> tuple[Client, str | None]:
    """Register an application; return it and its secret, shown once and stored hashed.

    A public application (one that cannot keep a secret: a single-page or native app)
    gets no secret and must use PKCE. ``skip_consent`` is for the operator's own tools,
    whose users need not be asked whether the tool may know them.

    A machine client of the API (scopes ``api:read``, ``api:write``; client credentials
    only) acts for exactly one member organisation (``organisation_id``) or one company
    (``company_id``): its requests run in that scope only.
    """
    _check_actor(actor)
    name = " ".join(name.split())
    if not name:
        raise NameRequired()
    redirect_uris = [validate_redirect_uri(u) for u in _clean_list(redirect_uris)]
    post_logout_redirect_uris = [
        validate_redirect_uri(u) for u in _clean_list(post_logout_redirect_uris)
    ]
    scopes = _clean_list(scopes)
    if any(scope not in SCOPES for scope in scopes):
        raise ScopeUnknown()
    grant_types = _clean_list(grant_types)
    if any(grant not in GRANT_TYPES for grant in grant_types):
        raise GrantTypeUnknown()
    if not confidential and Client.GrantType.CLIENT_CREDENTIALS in grant_types:
        raise PublicClientCredentials()
    if Client.GrantType.AUTHORIZATION_CODE in grant_types and not redirect_uris:
        raise RedirectUriRequired()
    _check_api_binding(scopes, grant_types, confidential, organisation_id, company_id)

    client = Client(
        name=name,
        type=Client.Type.CONFIDENTIAL if confidential else Client.Type.PUBLIC,
        skip_consent=skip_consent,
        # No secret until one is set below: a public client never gets one (allauth's
        # default would hash a random one with Argon2 for nothing).
        secret=make_password(None),
    )
    client.set_redirect_uris(redirect_uris)
    client.set_scopes(scopes)
    client.set_default_scopes(scopes)
    client.set_grant_types(grant_types)
    client.set_response_types(
        ["code"] if Client.GrantType.AUTHORIZATION_CODE in grant_types else []
    )
    if post_logout_redirect_uris:
        client.set_post_logout_redirect_uris(post_logout_redirect_uris)
    secret: str | None = None
    if confidential:
        secret = new_client_secret()
        client.secret = hash_client_secret(secret)
    client.clean()
    client.save()
    if organisation_id or company_id:
        ApiClient.objects.create(
            client=client, organisation_id=organisation_id, company_id=company_id
        )
    audit.record(
        actor=getattr(actor, "user", actor),
        chain=audit.PLATFORM_CHAIN,
        action="oidc.client_registered",
        target=client,
        payload={
            "name": client.name,
            "type": client.type,
            "scopes": scopes,
            "grant_types": grant_types,
            "redirect_uris": redirect_uris,
            "post_logout_redirect_uris": post_logout_redirect_uris,
            "skip_consent": skip_consent,
            "organisation_id": organisation_id,
            "company_id": company_id,
        },
        **(request_context or {}),
    )
    return client, secret


# --- Reading, rotating, deleting -----------------------------------------------------------


class ClientUnknown(ClientRegistrationError):
    code = "oidc_client_unknown"
    message = _("There is no such client application.")


class PublicClientHasNoSecret(ClientRegistrationError):
    code = "oidc_public_client_no_secret"
    message = _("A public application has no secret to renew.")


def list_clients() -> QuerySet[Client]:
    """Every registered application, by name. Clients belong to the platform, not to a
    member: no tenancy scope applies."""
    return Client.objects.order_by("name", "created_at")


def get_client(client_id: str) -> Client | None:
    return Client.objects.filter(pk=client_id).first()


def api_access_of(client: Client) -> ApiClient | None:
    """Who a machine client of the API acts for (None for a client that signs people in)."""
    return ApiClient.objects.select_related("organisation", "company").filter(client=client).first()


@transaction.atomic(durable=True)
def rotate_client_secret(
    *, actor: Any, client_id: str, request_context: dict[str, Any] | None = None
) -> tuple[Client, str]:
    """Give a confidential application a new secret; the old one stops working at once.

    Tokens already issued stay valid: refreshing them needs the new secret, so whoever
    holds only the old one cannot use them past the access token's short life, and the
    people using the tool are not all signed out of it.
    """
    _check_actor(actor)
    client = Client.objects.select_for_update().filter(pk=client_id).first()
    if client is None:
        raise ClientUnknown()
    if client.type != Client.Type.CONFIDENTIAL:
        raise PublicClientHasNoSecret()
    # A renewed secret is stored with the fast hash, whatever hashed the old one.
    secret = new_client_secret()
    client.secret = hash_client_secret(secret)
    client.save(update_fields=["secret"])
    audit.record(
        actor=getattr(actor, "user", actor),
        chain=audit.PLATFORM_CHAIN,
        action="oidc.client_secret_rotated",
        target=client,
        payload={"name": client.name},
        **(request_context or {}),
    )
    return client, secret


@transaction.atomic(durable=True)
def delete_client(
    *, actor: Any, client_id: str, request_context: dict[str, Any] | None = None
) -> None:
    """Remove an application: its access and refresh tokens go with it (allauth deletes
    them in cascade), and its pending authorization codes no longer find their client.

    allauth's client has no "disabled" state that its endpoints would honour, hence
    deletion rather than suspension; registering the tool again gives it a new id.
    """
    _check_actor(actor)
    client = Client.objects.select_for_update().filter(pk=client_id).first()
    if client is None:
        raise ClientUnknown()
    # Recorded before the row goes, while the target still has its primary key.
    audit.record(
        actor=getattr(actor, "user", actor),
        chain=audit.PLATFORM_CHAIN,
        action="oidc.client_deleted",
        target=client,
        payload={
            "name": client.name,
            "type": client.type,
            "redirect_uris": client.get_redirect_uris(),
        },
        **(request_context or {}),
    )
    client.delete()
