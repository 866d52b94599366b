"""Input refused at the edge: text no page, form or operation can use never reaches a view.

PostgreSQL refuses a NUL character in any text (the query fails, the page answers 500);
other C0 control characters are stored, then break what reads them later (an XML export,
a CSV, a terminal); bytes that are not UTF-8 are silently replaced by Django's decoding;
a value of a hundred thousand characters is no name, no address and no search. So, before
any view, :class:`EdgeMiddleware` refuses with a 400 (an HTML page, or the API's error
shape ``{code, field, message}`` under ``/api/`` and to clients that ask for JSON) any
request carrying, in:

- its path: a control character, more than the bound;
- a header: a control character other than a tab (HTTP allows none), or credentials of a
  ``Basic`` authorization that are not UTF-8 text free of them;
- a cookie: a control character (a quoted cookie may carry ``\\000``);
- its query string and its ``application/x-www-form-urlencoded`` body: in a name or a
  value, a control character other than tab, line feed and carriage return (a text area
  sends them), a percent-encoded sequence that is not UTF-8, a value longer than
  ``MUTUALIS_MAX_FIELD_LENGTH`` characters;
- the fields (not the files) of a ``multipart/form-data`` body and the strings of a JSON
  body: the same (Django has already replaced the invalid bytes of a multipart field).

Every form still states its own limits (``max_length`` of each text field, at most the edge
bound): a value over a column's size gets the form's message, not this page. Other bodies
(a file streamed as ``application/octet-stream``) are never read here, nor the body of a
view marked :func:`raw_body`, which reads its request itself (custom upload handlers).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from .errors import ControlCharacter, InputRefused, InputTooLong, InvalidEncoding, MalformedInput

# In text a person typed: tab, line feed and carriage return are legitimate.
CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# In a path, a name or a cookie: none is.
CONTROL_ANYWHERE = re.compile(r"[\x00-\x1f\x7f]")
# In a header: HTTP allows a tab only.
CONTROL_IN_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# A JSON string may carry lone surrogates ("\ud800"), which no UTF-8 text can encode.
SURROGATE = re.compile(r"[\ud800-\udfff]")

FORM_TYPES = ("application/x-www-form-urlencoded",)
MULTIPART_TYPES = ("multipart/form-data",)

V = TypeVar("V", bound=Callable[..., Any])


def raw_body(view: V) -> V:
    """Mark a view that reads its request body itself (a streamed upload, custom upload
    handlers): the edge checks its path, headers and query string, never its body."""
    view.mutualis_raw_body = True  # type: ignore[attr-defined]
    return view


def max_field_length() -> int:
    return int(settings.MUTUALIS_MAX_FIELD_LENGTH)


def check_text(name: str | None, value: str, *, pattern: re.Pattern[str] = CONTROL_IN_TEXT) -> None:
    """Refuse a value with a control character, a lone surrogate, or past the bound."""
    if pattern.search(value):
        raise ControlCharacter(field=name)
    if SURROGATE.search(value):
        raise InvalidEncoding(field=name)
    limit = max_field_length()
    if len(value) > limit:
        raise InputTooLong(
            _("A value of the request is too long: at most %(limit)d characters.")
            % {"limit": limit},
            field=name,
        )


def _wsgi_bytes(value: str) -> bytes:
    # WSGI hands over the raw bytes of the path and the query string as latin-1 text.
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def _decode(raw: bytes, field: str | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEncoding(field=field) from None


def check_urlencoded(raw: bytes) -> None:
    """A query string or a form body, as sent: names and values, before Django's decoding
    replaces what is not UTF-8."""
    for pair in raw.split(b"&"):
        if not pair:
            continue
        raw_name, _equals, raw_value = pair.partition(b"=")
        name_bytes = unquote_to_bytes(raw_name.replace(b"+", b" "))
        readable = name_bytes.decode("utf-8", "replace")
        name = _decode(name_bytes, readable)
        check_text(readable, name, pattern=CONTROL_ANYWHERE)
        value = _decode(unquote_to_bytes(raw_value.replace(b"+", b" ")), name)
        check_text(name, value)


def _strings_of(document: Any, name: str | None = None) -> Iterator[tuple[str | None, str]]:
    """Every string of a JSON document (keys too), with the key it is under."""
    stack: list[tuple[str | None, Any]] = [(name, document)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, str):
            yield key, item
        elif isinstance(item, dict):
            for k, v in item.items():
                yield k, k
                stack.append((k, v))
        elif isinstance(item, list):
            stack.extend((key, v) for v in item)


def check_json(raw: bytes) -> None:
    try:
        document = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidEncoding() from None
    except RecursionError:
        raise MalformedInput() from None
    except ValueError:
        return  # not JSON: the operation answers in its own words
    for key, value in _strings_of(document):
        check_text(key, value)


def check_authorization(header: str) -> None:
    """The credentials of HTTP Basic authentication (RFC 7617: UTF-8), as the token
    endpoint of the single sign-on reads them."""
    scheme, _space, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return  # not Basic credentials at all: refused as such by whoever reads them
    check_text("Authorization", _decode(decoded, "Authorization"), pattern=CONTROL_ANYWHERE)


def check_request(request: HttpRequest) -> None:
    """Path, headers, cookies and query string: read from every request."""
    # Django already turns the bytes of a path that are not UTF-8 into "%XX" text.
    check_text(None, request.path_info, pattern=CONTROL_ANYWHERE)
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            header = key[5:].replace("_", "-").title()
            if CONTROL_IN_HEADER.search(value):
                raise ControlCharacter(field=header)
    if "HTTP_AUTHORIZATION" in request.META:
        check_authorization(request.META["HTTP_AUTHORIZATION"])
    for name, value in request.COOKIES.items():
        if CONTROL_ANYWHERE.search(name) or CONTROL_ANYWHERE.search(value):
            raise ControlCharacter(field=name)
    check_urlencoded(_wsgi_bytes(request.META.get("QUERY_STRING", "")))


def check_body(request: HttpRequest) -> None:
    """The body, for the kinds every parser reads whole anyway: forms and JSON."""
    content_type = request.content_type or ""
    try:
        if content_type in FORM_TYPES:
            check_urlencoded(request.body)
        elif content_type in MULTIPART_TYPES:
            for name, values in request.POST.lists():
                check_text(name, name, pattern=CONTROL_ANYWHERE)
                for value in values:
                    check_text(name, value)
        elif content_type == "application/json" or content_type.endswith("+json"):
            check_json(request.body)
    except RawPostDataException:
        # Something read the stream before: it owns the body.
        return


def wants_json(request: HttpRequest) -> bool:
    if request.path_info.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    return "json" in accept and "html" not in accept


def refusal(request: HttpRequest, error: InputRefused) -> HttpResponse:
    if wants_json(request):
        return JsonResponse(error.as_dict(), status=error.status)
    # A page of its own, rendered without the request: the layout would read the session,
    # whose cookie may be the very input refused.
    page = render_to_string("core/input_refused.html", {"error": error})
    return HttpResponse(page, status=error.status)


class EdgeMiddleware:
    """Refuses unusable input before any view: see the module's documentation.

    Placed after authentication (its page is the site's own, with its language and
    header) and before tenancy, which already reads the path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_request(request)
        except InputRefused as error:
            return refusal(request, error)
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if getattr(view_func, "mutualis_raw_body", False):
            return None
        try:
            check_body(request)
        except InputRefused as error:
            return refusal(request, error)
        return None
