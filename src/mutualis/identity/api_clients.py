"""Authenticating the API's machine clients by their OpenID Connect access tokens.

A client registered with the ``api:read`` and/or ``api:write`` scope and bound to a member
organisation or a company (:class:`~mutualis.identity.models.ApiClient`) obtains an access
token from the platform's token endpoint (client-credentials grant) and sends it as
``Authorization: Bearer <token>``. :class:`ClientTokenAuth` looks the token up in allauth's
token table (stored as a SHA-256 of the value, as allauth stores it), checks that it has
not expired and that the client is still active, and gives the operation an
:class:`ApiCaller`: the client, who it acts for, its scopes.

The platform's API (``mutualis.core.api``) then counts the caller's requests and runs the
operation inside the caller's django-scopes scope, on its one dimension only. A service's
router uses it so::

    from mutualis.identity.api_clients import READ, WRITE

    router = Router(tags=["procurement"])

    @router.post("/consultations", auth=WRITE, response={201: Out, **errors(400, 401, 403)})
    def create_consultation(request, payload: ConsultationIn):
        caller = request.auth  # ApiCaller; its organisation's scope is entered
        return 201, services.create_consultation(
            organisation_id=caller.organisation_id, ...
        )

A read-only token on a write operation is answered 403 (``insufficient_scope``); a missing,
unknown or expired token, or one of a deactivated client, 401. A row of another member is
outside the scope: the scoped manager does not find it, and the operation answers 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from allauth.idp.oidc.models import Token
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_scopes.state import state
from ninja.security import HttpBearer

from mutualis.core.api import ApiError

from .models import ApiClient

SCOPE_READ = "api:read"
SCOPE_WRITE = "api:write"
# The consultations' writes (drafting, publication, rectification): a client recording
# contracts need not be one that publishes for the member.
SCOPE_PROCUREMENT_WRITE = "procurement:write"
SCOPES = frozenset({SCOPE_READ, SCOPE_WRITE, SCOPE_PROCUREMENT_WRITE})


@contextmanager
def only_scope(**dimensions: int) -> Iterator[None]:
    """Enter exactly ``dimensions``: django-scopes' ``scope()`` adds to the scope already
    entered (the session's organisation, when the caller also sent a cookie), which
    would let a company's client read an organisation's rows."""
    token = state.set({"_enabled": True, **dimensions})
    try:
        yield
    finally:
        state.reset(token)


@dataclass(frozen=True)
class ApiCaller:
    """An authenticated API client (``request.auth``): a ``mutualis.core.api.Caller``."""

    client_id: str
    name: str
    organisation_id: int | None
    company_id: int | None
    scopes: frozenset[str]

    @property
    def rate_limit_key(self) -> str:
        return self.client_id

    @property
    def can_write(self) -> bool:
        return SCOPE_WRITE in self.scopes

    def scope(self) -> AbstractContextManager[None]:
        # Exactly one of the two is set (the ApiClient check constraint).
        if self.organisation_id is not None:
            return only_scope(organisation=self.organisation_id)
        return only_scope(company=self.company_id)  # type: ignore[arg-type]


class ClientTokenAuth(HttpBearer):
    """Bearer access token of a bound API client; ``write=True`` requires ``api:write``,
    ``scope`` another scope."""

    def __init__(self, *, write: bool = False, scope: str | None = None) -> None:
        super().__init__()
        self.write = write
        self.needed = scope or (SCOPE_WRITE if write else None)

    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller | None:
        row = (
            Token.objects.valid()
            .by_value(token)
            .filter(type=Token.Type.ACCESS_TOKEN, client__isnull=False)
            .select_related("client")
            .first()
        )
        # Tokens issued to a person (authorization code) are not the API's: a client
        # acts for its organisation, not as one of its agents.
        if row is None or row.user_id is not None:
            return None
        access = ApiClient.objects.filter(client_id=row.client_id, is_active=True).first()
        if access is None:
            return None
        scopes = frozenset(row.get_scopes()) & SCOPES
        needed = self.needed
        if not scopes or (needed and needed not in scopes):
            raise ApiError(
                403,
                "insufficient_scope",
                _("This token does not have the %(scope)s scope.")
                % {"scope": needed or SCOPE_READ},
            )
        return ApiCaller(
            client_id=row.client_id,
            name=row.client.name,
            organisation_id=access.organisation_id,
            company_id=access.company_id,
            scopes=scopes,
        )


READ = ClientTokenAuth()
WRITE = ClientTokenAuth(write=True)
PROCUREMENT_WRITE = ClientTokenAuth(scope=SCOPE_PROCUREMENT_WRITE)
