"""Input that never reaches a 500: NUL bytes, over-long strings and invalid UTF-8, sent to
every route of the tenancy walk, as a person entitled to it, on SQLite and PostgreSQL
(PostgreSQL refuses a NUL in any text, and a value over a ``varchar``'s size).

The edge (``mutualis.core.edge``) refuses control characters, text that is not UTF-8 and
values past ``MUTUALIS_MAX_FIELD_LENGTH`` with a 400; values under that bound but over a
column's size reach the forms, which answer with their own message.
"""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django_scopes import scopes_disabled

from mutualis.core.models import OutgoingEmail
from mutualis.core.routes import Access, classify
from mutualis.identity.models import Invitation
from tests.factories.tenancy_world import World, all_routes, url_of, world

pytestmark = pytest.mark.django_db

# The tenancy walk's objects of organisation A and company X, whose routes it builds (a
# fixture).
__all__ = ["world"]

NUL = "a\x00b"
EDGE_LONG = "x" * 20_000  # past the edge's bound (10 000 by default)
# Under the edge's bound, over every column: the forms must refuse it themselves.
COLUMN_LONG = "y" * 1_000
# A valid address longer than the 254 characters of an e-mail column.
LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".org"
INVALID_UTF8 = b"\xff\xfe\xc3"
# Names the views read from a query string: searches, pages, the single sign-on's.
QUERY_NAMES = ["q", "page", "next", "kind", "client_id", "redirect_uri", "scope", "state"]


# --- The reproductions of the issue ------------------------------------------------------


def test_a_nul_byte_in_the_directory_api_search_is_refused(client):
    response = client.get("/api/v1/organisations", {"q": "Dijon\x00"})

    assert response.status_code == 400
    assert response.json() == {
        "code": "control_character",
        "field": "q",
        "message": response.json()["message"],
    }


def test_a_nul_byte_in_the_authorize_endpoints_client_id_is_refused(client, agent_a):
    client.force_login(agent_a.user)

    response = client.get(
        reverse("idp:oidc:authorization"), {"client_id": "\x00", "response_type": "code"}
    )

    assert response.status_code == 400
    assert b"control character" in response.content


@pytest.mark.parametrize(
    "data",
    [
        {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "x"},
        {"grant_type": "authorization_code", "code": "a\x00", "client_id": "c"},
    ],
)
def test_a_nul_byte_at_the_token_endpoint_is_refused(client, data):
    response = client.post(reverse("idp:oidc:token"), data)

    assert response.status_code == 400


def test_nul_bytes_in_basic_credentials_at_the_token_endpoint_are_refused(client):
    credentials = base64.b64encode(b"client\x00:secret").decode()

    response = client.post(
        reverse("idp:oidc:token"),
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 400


def test_an_over_long_address_gets_the_invitation_forms_message(client, agent_a):
    client.force_login(agent_a.user)
    url = reverse("members:invite", kwargs={"org": agent_a.organisation.slug})

    response = client.post(url, {"email": LONG_EMAIL, "roles": ["secretary"]})

    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    with scopes_disabled():
        assert not Invitation.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_a_nul_byte_in_a_json_body_is_refused_in_the_apis_shape(client):
    response = client.post(
        "/api/v1/organisations", {"name": "a\u0000b"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "control_character"
    assert response.json()["field"] == "name"


def test_invalid_utf8_in_a_query_string_is_refused(client):
    response = client.get("/api/v1/organisations?q=" + quote(INVALID_UTF8))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_encoding"
    assert response.json()["field"] == "q"


def test_invalid_utf8_in_a_form_body_is_refused(client):
    response = client.post(
        reverse("account_login"),
        "login=" + quote(INVALID_UTF8),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400


def test_a_value_past_the_bound_is_refused(client, settings):
    settings.MUTUALIS_MAX_FIELD_LENGTH = 50

    response = client.get("/api/v1/organisations", {"q": "x" * 51})

    assert response.status_code == 400
    assert response.json()["code"] == "input_too_long"
    assert "50" in response.json()["message"]


def test_a_nul_byte_in_the_path_is_refused(client, agent_a):
    client.force_login(agent_a.user)

    response = client.get(f"/o/{agent_a.organisation.slug}%00/members/")

    assert response.status_code == 400


def test_a_nul_byte_in_the_session_cookie_is_refused(client):
    client.cookies["sessionid"] = "abcdefghij\x00klmnop"

    response = client.get(reverse("core:home"), HTTP_COOKIE='sessionid="abcdefghij\\000kl"')

    assert response.status_code == 400


def test_the_refusal_page_is_in_french_by_default(client, settings):
    settings.LANGUAGE_CODE = "fr"

    response = client.get(reverse("core:home"), {"q": "\x00"}, HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 400
    assert "Requête refusée".encode() in response.content


def test_line_breaks_and_tabs_in_a_text_area_pass_the_edge(client):
    response = client.post(
        reverse("account_login"), {"login": "line\r\nbreak\tand tab", "password": "x"}
    )

    assert response.status_code == 200


# --- Every route, as a person entitled to it --------------------------------------------


class _Forms(HTMLParser):
    """The fields of the POST forms of a page, with the values the page gives them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.text: set[str] = set()
        self.email: set[str] = set()
        self._in_post_form = False
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_post_form = a.get("method", "get").lower() == "post"
        if not self._in_post_form or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                self.fields.setdefault(name, a.get("value", "on"))
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.fields[name] = a.get("value", "")
                if kind in ("text", "search", "url", "tel", "password", "number"):
                    self.text.add(name)
                elif kind == "email":
                    self.email.add(name)
        elif tag == "textarea":
            self.fields[name] = ""
            self.text.add(name)
        elif tag == "select":
            self.fields.setdefault(name, "")
            self._select = name
        elif (
            tag == "option"
            and self._select
            and a.get("value")
            and not self.fields.get(self._select)
        ):
            self.fields[self._select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_post_form = False
        elif tag == "select":
            self._select = None


def _forms_of(response) -> _Forms:
    parser = _Forms()
    if not response.streaming and response.get("Content-Type", "").startswith("text/html"):
        parser.feed(response.content.decode(errors="replace"))
    return parser


def _plausible(parser: _Forms) -> dict[str, str]:
    """The page's values, with the empty text fields filled, so that a form whose other
    fields are valid lets the hostile one reach its service."""
    data = dict(parser.fields)
    for name in parser.text:
        data[name] = data[name] or "Texte"
    for name in parser.email:
        data[name] = data[name] or "hostile@example.org"
    return data


def _person_for(access: Access, url: str, world: World, operator: Any) -> Any:
    if access is Access.OPERATOR:
        return operator
    if access is Access.TENANT and url.startswith("/c/"):
        return world.admin_x.user
    if access in (Access.TENANT, Access.ACCOUNT):
        return world.agent_a.user
    return None  # public routes: anonymous


def _hostile_requests(client: Client, url: str):
    """(what was sent, response) for every hostile request to one route."""
    for label, value in [("NUL", NUL), ("edge-long", EDGE_LONG), ("column-long", COLUMN_LONG)]:
        query = "&".join(f"{name}={quote(value)}" for name in QUERY_NAMES)
        yield f"GET {label}", client.get(f"{url}?{query}")
    query = "&".join(f"{name}={quote(INVALID_UTF8)}" for name in QUERY_NAMES)
    yield "GET invalid UTF-8", client.get(f"{url}?{query}")

    page = client.get(url)
    parser = _forms_of(page)
    base = _plausible(parser)
    names = set(base) | {"email", "name", "q", "login", "password"}
    for label, value in [("NUL", NUL), ("edge-long", EDGE_LONG)]:
        yield f"POST {label}", client.post(url, data=dict.fromkeys(names, value))
    body = "&".join(f"{name}={quote(INVALID_UTF8)}" for name in sorted(names))
    form = "application/x-www-form-urlencoded"
    yield "POST invalid UTF-8", client.post(url, data=body, content_type=form)
    # One text field at a time over its column's size, the others plausible: the form
    # must say so itself.
    for name in sorted(parser.text | parser.email | {"email"}):
        value = LONG_EMAIL if name in parser.email or name == "email" else COLUMN_LONG
        yield f"POST {name} too long", client.post(url, data={**base, name: value})


def _walk(client: Client, world: World, operator: Any) -> list[str]:
    errors = []
    for name, arguments in all_routes():
        access = classify(name)
        url = url_of(name, arguments, world)
        person = _person_for(access, url, world, operator)
        client.logout()
        if person is not None:
            # Once per route: a route that logs the person out (or rotates the session)
            # leaves the rest of its requests anonymous, which must not fail either.
            client.force_login(person)
        for sent, response in _hostile_requests(client, url):
            if response.status_code >= 500:
                errors.append(f"{sent} {name} ({url}): {response.status_code}")
    return errors


@pytest.fixture
def no_limits(settings):
    # The walk sends hundreds of requests from one address: the limits would answer 429
    # before the views see the input.
    settings.MUTUALIS_RATE_LIMITS_ENABLED = False
    settings.AXES_ENABLED = False


# Transactional: on PostgreSQL a request failing in the database would abort the test's
# own transaction, and the walk could not go on to report the other routes.
@pytest.mark.django_db(transaction=True)
def test_no_hostile_input_reaches_a_500_on_any_route(client, world, operator_staff, no_limits):
    """Runs on PostgreSQL in CI (``make test`` there): where a NUL or an over-long value
    fails, where SQLite stores it."""
    client.raise_request_exception = False

    errors = _walk(client, world, operator_staff.user)

    assert errors == []


def test_the_long_address_is_longer_than_an_email_column():
    assert len(LONG_EMAIL) > 254
    assert re.fullmatch(r"[^@]{64}@[a-z.]+", LONG_EMAIL)
