"""The platform's API for programs: one ``NinjaAPI`` under ``/api/v1/``.

Each context attaches its own router with :func:`register_router` (from its
``AppConfig.ready()``); core imports no context. What every operation shares lives here:

- one error shape, ``{code, field, message}`` (:class:`ErrorOut`), for every error: invalid
  parameters (422, with the list of the fields in error), authentication (401), rights
  (403), missing rows (404), rate limits (429, with ``Retry-After``), refused use cases
  (:class:`~mutualis.core.errors.MutualisError`, 400) and :class:`ApiError`;
- rate limits per source address (every request) and per authenticated client;
- the scope of the caller: a request authenticated as an API client (an object with a
  ``scope()`` method in ``request.auth``, see :class:`Caller`) runs its operation inside
  that client's django-scopes scope, and in no other;
- pagination helpers: pages with a total, and cursors over a change feed
  (:mod:`mutualis.core.api.pagination`);
- writes answered once per ``Idempotency-Key`` (:mod:`mutualis.core.api.idempotency`).

The document is at ``/api/v1/openapi.json``; ``/api/v1/docs`` shows it with the Swagger UI
that django-ninja ships, served from the platform's own static files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import wraps
from typing import Any, Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.responses import NinjaJSONEncoder

from mutualis.core import ratelimit
from mutualis.core.errors import MutualisError
from mutualis.core.network import client_address

DESCRIPTION = """\
API of the Mutualis platform.

**Open data** (the territory's public bodies, members of the grouping or not) needs no
authentication. **Clients** registered by the operator authenticate with an OpenID Connect
access token (client-credentials grant at the platform's token endpoint, sent as
`Authorization: Bearer <token>`); each client acts for one member organisation or one
company, with the scopes `api:read`, `api:write` and/or `procurement:write` (drafting,
publishing and rectifying the member's consultations).

**Writes** need an `Idempotency-Key` header (1 to 100 printable ASCII characters, the
client's own): sent again with the same request, the first answer comes back and nothing
changes; with another request, 409. A key whose request never finished (the server
stopped) is free again after five minutes.

**Errors** all have the same shape: `{"code": "<stable slug>", "field": "<parameter or
null>", "message": "<readable text>"}`. Invalid parameters (422) add `errors`, one such
object per parameter in error. Status codes: 400 refused request (bad cursor, refused
operation; on any operation, a control character such as NUL, text that is not UTF-8, or
a value of more than 10,000 characters, all refused before the operation), 401 missing,
invalid or expired token, 403 token without the scope the
operation needs, 404 no such object (or one the client may not see), 422 invalid
parameters, 429 too many requests (wait `Retry-After` seconds).
"""

STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "rate_limited",
}


class ErrorOut(Schema):
    code: str = Field(
        description="Stable error code (an English slug).", examples=["greater_than_equal"]
    )
    field: str | None = Field(description="The parameter in error.", examples=["page"])
    message: str = Field(examples=["Input should be greater than or equal to 1"])


class ValidationErrorOut(ErrorOut):
    errors: list[ErrorOut] = Field(description="One entry per parameter in error.")


class ApiError(HttpError):
    """An error answered in the API's shape: ``raise ApiError(400, "invalid_cursor", …)``."""

    def __init__(
        self, status_code: int, code: str, message: str, *, field: str | None = None
    ) -> None:
        super().__init__(status_code, message)
        self.code = code
        self.field = field


class RateLimited(ApiError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "rate_limited",
            _("Too many requests: try again in %(seconds)d seconds.") % {"seconds": retry_after},
        )
        self.retry_after = retry_after


@runtime_checkable
class Caller(Protocol):
    """What an authentication class of a context puts in ``request.auth`` for a client:
    the key its requests are counted under, and the scope its operations run in."""

    rate_limit_key: str

    def scope(self) -> AbstractContextManager[None]: ...


def errors(*statuses: int) -> dict[int, type[Schema]]:
    """The error responses of an operation, for its ``response=`` map:
    ``response={200: Out, **errors(401, 404)}``. Every operation may answer 400 (input
    refused at the edge, :mod:`mutualis.core.edge`) and 429."""
    return {status: ErrorOut for status in (*statuses, 400, 429)}


VALIDATION = {422: ValidationErrorOut}


# --- Error handlers ---------------------------------------------------------------------


def rendered(data: Any, *, status: int = 200) -> HttpResponse:
    """``data`` as the JSON ninja would render, without validating it against the
    operation's response schema: for a hot list whose rows are built from typed columns
    (a page of 20 consultations spent 2 ms a request in that validation). The operation
    still declares its schema (the OpenAPI document), and a test compares both renderings.
    """
    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def _field_name(location: Any) -> str | None:
    # Ninja locates an error as ("query", "page"); nested models add more parts.
    parts = [str(part) for part in (location or ())[1:]]
    return ".".join(parts) or None


def _install_handlers(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, body: dict[str, Any], status: int) -> HttpResponse:
        return api.create_response(request, body, status=status)

    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields = [
            _body(error.get("type", "invalid"), error.get("msg", ""), _field_name(error.get("loc")))
            for error in exc.errors
        ]
        named = {entry["field"] for entry in fields}
        body = _body(
            "invalid_parameters",
            _("Some parameters are invalid."),
            named.pop() if len(named) == 1 else None,
        )
        return respond(request, {**body, "errors": fields}, 422)

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc, ApiError):
            body = _body(exc.code, str(exc.message), exc.field)
        elif isinstance(exc, AuthenticationError):
            body = _body("not_authenticated", _("A valid access token is required."))
        elif isinstance(exc, AuthorizationError):
            body = _body("permission_denied", _("This token may not do that."))
        else:
            body = _body(STATUS_CODES.get(exc.status_code, "error"), str(exc.message))
        response = respond(request, body, exc.status_code)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        if exc.status_code == 401:
            response["WWW-Authenticate"] = "Bearer"
        return response

    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, _body("not_found", _("There is no such object.")), 404)

    def permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, _body("permission_denied", _("This token may not do that.")), 403)

    def refused(request: HttpRequest, exc: MutualisError) -> HttpResponse:
        return respond(request, exc.as_dict(), getattr(exc, "status", 400))

    # django-ninja types its handlers as taking the exception or its class: ours take
    # the exception, which is what ninja passes.
    handlers: list[tuple[Any, Any]] = [
        (ValidationError, validation_error),
        (HttpError, http_error),
        (Http404, not_found),
        (PermissionDenied, permission_denied),
        (MutualisError, refused),
    ]
    for exception, handler in handlers:
        api.add_exception_handler(exception, handler)


# --- Rate limits and the caller's scope --------------------------------------------------


def _limits_enabled() -> bool:
    return bool(settings.MUTUALIS_RATE_LIMITS_ENABLED)


def _per_address(run: Callable[..., HttpResponse], api: NinjaAPI) -> Callable[..., HttpResponse]:
    """Counts every request of an address, before authentication and validation: failed
    token guesses and malformed queries count too."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _limits_enabled():
            address = client_address(request) or "unknown"
            wait = ratelimit.hit("api-address", address, settings.MUTUALIS_API_RATE_PER_ADDRESS)
            if wait is not None:
                return api.on_exception(request, RateLimited(wait))
        return run(request, *args, **kwargs)

    return wrapper


def _as_caller(view: Callable[..., Any]) -> Callable[..., Any]:
    """After authentication: counts the client's requests, then runs the operation in
    the client's scope only."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        caller = getattr(request, "auth", None)
        if not isinstance(caller, Caller):
            return view(request, *args, **kwargs)
        if _limits_enabled():
            rate = settings.MUTUALIS_API_RATE_PER_CLIENT
            wait = ratelimit.hit("api-client", caller.rate_limit_key, rate)
            if wait is not None:
                raise RateLimited(wait)
        with caller.scope():
            return view(request, *args, **kwargs)

    return wrapper


def new_api(**options: Any) -> NinjaAPI:
    """A NinjaAPI with the platform's error shape, limits and scopes (tests build their
    own to mount test-only routers; the platform has one, :data:`api`)."""
    api = NinjaAPI(
        **{
            "title": "Mutualis API",
            "version": "1.0.0",
            "description": DESCRIPTION,
            "urls_namespace": "api",
            # Swagger UI would otherwise send the document to an online validator.
            "docs": Swagger(settings={"validatorUrl": None}),
            **options,
        }
    )
    _install_handlers(api)
    api.add_decorator(lambda run: _per_address(run, api), mode="view")
    api.add_decorator(_as_caller, mode="operation")
    return api


api = new_api()


def register_router(prefix: str, router: Router, **options: Any) -> None:
    """Attach a context's router under ``/api/v1/<prefix>``; call it from the context's
    ``AppConfig.ready()``, before the URLs are built."""
    api.add_router(prefix, router, **options)
