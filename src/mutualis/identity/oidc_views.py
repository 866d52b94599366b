"""The OpenID Connect endpoints as the platform offers them: allauth's views, behind the
platform's policy (see ``docs/oidc.md``, "What the provider does").

allauth (through oauthlib) can serve more than the platform offers: implicit and hybrid
response types, the device-code and password grants, redirect URIs that match a
registered one loosely (extra query parameters, a scheme or host in capitals, another
port on a loopback address). The platform offers the authorization code flow with PKCE
to people, and client credentials and refresh tokens to programs; redirect URIs are
compared as strings, exactly, as OAuth 2.1 (section 2.3.1) and OpenID Connect Core
(3.1.2.1) require. Each wrapper below refuses the rest before allauth sees it.
"""

from __future__ import annotations

import json
from typing import Any

from allauth.idp.oidc import views as allauth_views
from allauth.idp.oidc.forms import RPInitiatedLogoutForm
from allauth.idp.oidc.internal.clientkit import lookup_client
from allauth.idp.oidc.internal.oauthlib.utils import respond_html_error
from allauth.idp.oidc.models import Client
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from oauthlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    MismatchingRedirectURIError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
    UnsupportedResponseTypeError,
)

from mutualis.core import audit
from mutualis.core.forms import bounded_text_fields

from . import oidc_grants
from .oidc import (
    OFFERED_GRANT_TYPES,
    OFFERED_RESPONSE_MODES,
    OFFERED_RESPONSE_TYPES,
    token_client_id,
)


def redirect_uri_registered(client: Client, redirect_uri: str) -> bool:
    """Simple string comparison with a registered redirect URI (RFC 3986, 6.2.1): no
    normalisation, no added query parameter, no case folding, no port freedom."""
    return redirect_uri in client.get_redirect_uris()


def _allauth(view: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    # allauth's views are untyped.
    response: HttpResponse = view(request, *args, **kwargs)
    return response


# --- Authorization ---------------------------------------------------------------------


def authorization(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    # The consent form's POST carries the request signed by the GET that validated it;
    # a POST without it is sent back to the GET by allauth.
    if request.method in ("GET", "HEAD"):
        refusal = _refuse_authorization(request)
        if refusal is not None:
            return refusal
    return _allauth(allauth_views.authorization, request, *args, **kwargs)


def _refuse_authorization(request: HttpRequest) -> HttpResponse | None:
    params = request.GET
    client = lookup_client(params.get("client_id") or "")
    redirect_uri = params.get("redirect_uri") or ""
    error = _authorization_policy_error(params, client)
    if client is not None and redirect_uri and not redirect_uri_registered(client, redirect_uri):
        # Never redirect to an address that was not registered, not even an error
        # (RFC 6749, 4.1.2.1): tell the person on a page.
        return _error_page(request, error or MismatchingRedirectURIError(state=params.get("state")))
    if error is None:
        return None
    if client is not None and redirect_uri:
        response = HttpResponse(status=302)
        response["Location"] = error.in_uri(redirect_uri)
        return response
    return _error_page(request, error)


def _authorization_policy_error(params: Any, client: Client | None) -> OAuth2Error | None:
    state = params.get("state")
    response_type = params.get("response_type")
    if response_type is not None and response_type not in OFFERED_RESPONSE_TYPES:
        # Implicit ("token", "id_token token") and hybrid ("code id_token", …) flows put
        # tokens in the browser's address: not offered.
        return UnsupportedResponseTypeError(
            description="Only the authorization code flow (response_type=code) is offered.",
            state=state,
        )
    response_mode = params.get("response_mode")
    if response_mode is not None and response_mode not in OFFERED_RESPONSE_MODES:
        return InvalidRequestError(description="Only response_mode=query is offered.", state=state)
    if "code_challenge" in params and params.get("code_challenge_method") != "S256":
        # oauthlib also accepts "plain", and assumes it when no method is sent: a plain
        # challenge is the verifier itself, visible to whoever sees this request.
        return InvalidRequestError(
            description="PKCE: code_challenge_method must be S256.", state=state
        )
    if client is not None and (Client.GrantType.AUTHORIZATION_CODE not in client.get_grant_types()):
        return UnauthorizedClientError(
            description="This client is not registered for the authorization code flow.",
            state=state,
        )
    return None


def _error_page(request: HttpRequest, error: OAuth2Error) -> HttpResponse:
    response: HttpResponse = respond_html_error(request, error=error)
    response.status_code = 400
    return response


# --- Token -----------------------------------------------------------------------------


@csrf_exempt
def token(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    if request.method != "POST":
        return _allauth(allauth_views.token, request, *args, **kwargs)
    grant_type = request.POST.get("grant_type", "")
    if grant_type not in OFFERED_GRANT_TYPES:
        return _token_error(
            UnsupportedGrantTypeError(
                description="Offered: authorization_code, refresh_token, client_credentials."
            )
        )
    if grant_type == Client.GrantType.AUTHORIZATION_CODE:
        return _exchange_code(request, *args, **kwargs)
    if grant_type == Client.GrantType.REFRESH_TOKEN:
        return _refresh(request, *args, **kwargs)
    return _allauth(allauth_views.token, request, *args, **kwargs)


def _exchange_code(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    code = request.POST.get("code", "")
    if not code:
        return _allauth(allauth_views.token, request, *args, **kwargs)
    grant = oidc_grants.grant_of_code(code)
    context = audit.request_context(request)
    if not oidc_grants.code_is_live(client_id=token_client_id(request), code=code):
        # Exchanged before (or expired, or never issued): allauth refuses it; whatever
        # was issued from it goes.
        oidc_grants.revoke_reused_grant(grant=grant, request_context=context)
        return _allauth(allauth_views.token, request, *args, **kwargs)
    if not oidc_grants.begin_exchange(grant):
        # The same live code sent twice at once: refuse this one, and revoke the other's
        # tokens (here, or by the other request itself when it has not finished).
        oidc_grants.revoke_reused_grant(grant=grant, request_context=context)
        return _token_error(InvalidGrantError(description="This code was already used."))
    response = _allauth(allauth_views.token, request, *args, **kwargs)
    if response.status_code == 200:
        oidc_grants.tag_tokens(grant=grant, token_values=_issued_tokens(response))
        if oidc_grants.was_reused(grant):
            oidc_grants.revoke_reused_grant(grant=grant, request_context=context)
            return _token_error(InvalidGrantError(description="This code was already used."))
    return response


def _refresh(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    grant = oidc_grants.grant_of_refresh_token(
        client_id=token_client_id(request), value=request.POST.get("refresh_token", "")
    )
    response = _allauth(allauth_views.token, request, *args, **kwargs)
    if response.status_code == 200 and grant is not None:
        oidc_grants.tag_tokens(grant=grant, token_values=_issued_tokens(response))
    return response


def _issued_tokens(response: HttpResponse) -> list[str]:
    body = json.loads(response.content)
    return [body.get("access_token") or "", body.get("refresh_token") or ""]


def _token_error(error: OAuth2Error) -> HttpResponse:
    response = JsonResponse(dict(error.twotuples), status=error.status_code)
    response["Cache-Control"] = "no-store"
    return response


# --- Logout ----------------------------------------------------------------------------


@bounded_text_fields(4_000)
class ExactLogoutForm(RPInitiatedLogoutForm):  # type: ignore[misc]
    """allauth accepts a post-logout address that loosely matches a registered one, or,
    when the client registered none, any address on the origin of its redirect URIs.
    The platform returns only to an address registered for logout, exactly."""

    def clean(self) -> dict[str, Any] | None:
        cleaned_data: dict[str, Any] | None = super().clean()
        if not cleaned_data:
            return cleaned_data
        uri = cleaned_data.get("post_logout_redirect_uri")
        client = cleaned_data.get("client")
        if uri and (client is None or uri not in client.get_post_logout_redirect_uris()):
            self.add_error(
                "post_logout_redirect_uri",
                ValidationError(_("This address was not registered for logout.")),
            )
        return cleaned_data


logout = allauth_views.LogoutView.as_view(form_class=ExactLogoutForm)


# --- What is not offered ---------------------------------------------------------------


def not_offered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The device authorization grant (RFC 8628) is not offered: its endpoints answer 404.

    Their names stay routed, because allauth's discovery view builds their addresses
    before the platform's adapter removes them from the document.
    """
    raise Http404
