"""The Content-Security-Policy: on every HTML page, no inline script or style in any
template, a member's colours from a stylesheet, a route that widens the policy on itself
only, and the single sign-on's forms allowed to end at the client they name.

The browser journeys (tests/e2e) fail on any violation the browser reports; these tests
hold what can be checked without one.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from allauth.idp.oidc.models import Client
from django.conf import settings
from django.urls import reverse

from mutualis.core import audit
from mutualis.directory import colours
from mutualis.identity import oidc_clients
from tests.factories.tenancy_world import (  # noqa: F401  (``world`` is a fixture)
    all_routes,
    url_of,
    world,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "mutualis"
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "worker-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(response) -> dict[str, str]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.wsgi_request.path}"
    parsed = {}
    for part in header.split(";"):
        name, _space, value = part.strip().partition(" ")
        parsed[name] = value
    return parsed


# --- Templates ------------------------------------------------------------------------

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=""", re.IGNORECASE)
# Inline event handlers (onclick=…) are inline scripts too.
_EVENT_ATTRIBUTE = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted(p for p in SRC.rglob("templates/**/*") if p.suffix in (".html", ".txt"))


def test_the_scan_finds_the_templates():
    names = {str(p.relative_to(SRC)) for p in _templates()}
    assert "templates/base.html" in names
    assert "directory/templates/directory/organisation_detail.html" in names


@pytest.mark.parametrize(
    ("source", "finding"),
    [
        ("<script>alert(1)</script>", "inline <script>"),
        ('<script type="module">x()</script>', "inline <script>"),
        ('<p style="color: red">', "style attribute"),
        ("<style>p { color: red }</style>", "<style> element"),
        ('<a href="#" onclick="x()">', "event handler attribute"),
    ],
)
def test_the_scan_finds_each_kind_of_inline_code(source, finding):
    assert _inline_code(source) == [finding]


@pytest.mark.parametrize(
    "source",
    [
        '<script src="/static/x.js"></script>',
        '<script type="application/json" id="data">{"a": 1}</script>',
        "{{ value|json_script:'data' }}",
        '<p class="styled" data-style="x">',
    ],
)
def test_the_scan_lets_through_what_the_policy_allows(source):
    assert _inline_code(source) == []


def _inline_code(text: str) -> list[str]:
    found = []
    for match in _SCRIPT.finditer(text):
        attributes = match.group(1)
        if re.search(r"\ssrc\s*=", attributes):
            continue
        # A data block is never executed: the policy does not apply to it.
        if re.search(r"""type\s*=\s*["']application/json["']""", attributes):
            continue
        found.append("inline <script>")
    if _STYLE_ELEMENT.search(text):
        found.append("<style> element")
    if _STYLE_ATTRIBUTE.search(text):
        found.append("style attribute")
    if _EVENT_ATTRIBUTE.search(text):
        found.append("event handler attribute")
    return found


def test_no_template_holds_an_inline_script_or_style():
    """The policy forbids inline scripts and styles: none is written in a template (a
    page's data for its script goes in a ``json_script`` block, its look in a stylesheet
    under static/)."""
    offenders = {
        str(path.relative_to(SRC)): found
        for path in _templates()
        if (found := _inline_code(path.read_text()))
    }
    assert offenders == {}


# --- Every page carries the policy ------------------------------------------------------


def test_the_policy_is_the_documented_one(client, db):
    assert directives(client.get(reverse("core:home"))) == POLICY


def test_the_policy_reaches_error_pages(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert directives(response) == POLICY


def _html_pages_of_every_route(client, world, person) -> int:  # noqa: F811
    """GET every route as ``person`` (or anonymously): each HTML answer carries the
    policy. Returns how many routes answered a page of HTML with 200."""
    pages = 0
    for name, arguments in all_routes():
        url = url_of(name, arguments, world)
        if person is not None:
            client.force_login(person)
        response = client.get(url)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        found = directives(response)
        assert found["script-src"] == "'self'", name
        assert found["style-src"] == "'self'", name
        assert found["object-src"] == "'none'", name
        pages += response.status_code == 200
    return pages


@pytest.mark.django_db
def test_every_html_page_carries_the_policy(client, world, operator_staff):  # noqa: F811
    """Walk every route as a visitor, as the administrator of organisation A (its
    tenant pages render) and as operator staff (the back office renders)."""
    rendered = _html_pages_of_every_route(client, world, None)
    client.logout()
    rendered += _html_pages_of_every_route(client, world, world.agent_a.user)
    client.logout()
    rendered += _html_pages_of_every_route(client, world, operator_staff.user)
    # Not a walk of redirects only: public, tenant and operator pages were rendered.
    assert rendered > 80


# --- A member's colours -----------------------------------------------------------------


@pytest.fixture
def coloured(make_org):
    return make_org(
        name="Beaune", slug="beaune", primary_colour="#7A1F5C", secondary_colour="#F2F5F9"
    )


def test_the_public_page_links_its_colours_stylesheet(client, coloured):
    page = client.get(reverse("directory:detail", args=["beaune"])).content.decode()
    stylesheet = colours.public_stylesheet(primary="#7A1F5C", secondary="#F2F5F9")
    version = colours.stylesheet_version(stylesheet)
    link = f"{reverse('directory:colours', args=['beaune'])}?v={version}"
    assert f'<link rel="stylesheet" href="{link}">' in page
    assert "style=" not in page


def test_the_colours_stylesheet_sets_the_page_properties(client, coloured):
    response = client.get(reverse("directory:colours", args=["beaune"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    css = response.content.decode()
    assert css.startswith(".org-page {")
    assert "--org-primary: #7a1f5c;" in css
    assert "--org-on-primary: #ffffff;" in css
    assert "--org-secondary: #f2f5f9;" in css
    assert "--org-on-secondary: #000000;" in css


def test_the_colours_stylesheet_is_cached_by_version_and_revalidated(client, coloured):
    url = reverse("directory:colours", args=["beaune"])
    first = client.get(url)
    version = first["ETag"].strip('"')
    assert first["Cache-Control"] == "public, no-cache"

    versioned = client.get(url, {"v": version})
    assert versioned["Cache-Control"] == "public, max-age=86400"

    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    assert again.content == b""

    coloured.primary_colour = "#004080"
    coloured.save()
    changed = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]
    assert "--org-primary: #004080;" in changed.content.decode()


def test_a_colour_stored_without_validation_never_reaches_the_stylesheet(client, coloured):
    # Seven characters, as the column holds on PostgreSQL: enough to close the rule.
    coloured.primary_colour = "red;}p{"
    coloured.save(update_fields=["primary_colour"])
    css = client.get(reverse("directory:colours", args=["beaune"])).content.decode()
    assert "red" not in css
    assert css.count("}") == 1
    assert "--org-primary: #1d4e89;" in css


def test_the_colours_of_an_unknown_organisation_are_not_found(client, db):
    assert client.get(reverse("directory:colours", args=["nowhere"])).status_code == 404


def test_the_colours_stylesheet_is_read_only(client, coloured):
    assert client.post(reverse("directory:colours", args=["beaune"])).status_code == 405


# --- A route widens the policy on itself only ---------------------------------------------


def test_a_route_widens_the_policy_on_itself_only(client, db):
    """The test-only context's embeddable page (tests/plugged/views.py) lets a partner
    frame it and starts a Web Worker: its policy says so, the platform's other pages
    do not change."""
    response = client.get(reverse("plugged_public:embeddable"))
    widened = directives(response)
    assert widened["frame-ancestors"] == "https://partner.example"
    assert widened["worker-src"] == "'self' blob:"
    assert "X-Frame-Options" not in response
    assert {k: v for k, v in widened.items() if k not in ("frame-ancestors", "worker-src")} == {
        k: v for k, v in POLICY.items() if k not in ("frame-ancestors", "worker-src")
    }

    elsewhere = client.get(reverse("core:home"))
    assert directives(elsewhere) == POLICY
    assert elsewhere["X-Frame-Options"] == "DENY"


# --- The single sign-on's forms ---------------------------------------------------------

TOOL = "https://visio.example.org"


@pytest.fixture
def tool(db, outsider):
    client, _secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Visio",
        confidential=False,
        redirect_uris=[f"{TOOL}/callback"],
        post_logout_redirect_uris=[f"{TOOL}/bye"],
        grant_types=["authorization_code"],
    )
    return client


def _authorize_url(tool: Client, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": tool.id,
        "redirect_uri": f"{TOOL}/callback",
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{reverse('idp:oidc:authorization')}?{urlencode(params)}"


def test_the_consent_page_may_send_its_form_to_the_client(client, tool, outsider):
    client.force_login(outsider)
    response = client.get(_authorize_url(tool))
    assert response.status_code == 200
    assert directives(response)["form-action"] == f"'self' {TOOL}"


def test_an_unknown_or_odd_client_widens_nothing(client, tool, outsider):
    client.force_login(outsider)
    for client_id in ("unknown", "x" * 300, "a b;c"):
        response = client.get(_authorize_url(tool, client_id=client_id))
        assert response.status_code < 500
        if response.get("Content-Security-Policy"):
            assert directives(response)["form-action"] == "'self'"


def test_the_logout_question_may_send_its_form_to_the_registered_address(client, tool, outsider):
    client.force_login(outsider)
    url = reverse("idp:oidc:logout")
    asked = client.get(url, {"client_id": tool.id, "post_logout_redirect_uri": f"{TOOL}/bye"})
    assert asked.status_code == 200
    assert directives(asked)["form-action"] == f"'self' {TOOL}"

    unregistered = client.get(
        url, {"client_id": tool.id, "post_logout_redirect_uri": "https://evil.example/bye"}
    )
    assert directives(unregistered)["form-action"] == "'self'"


def test_sign_in_pages_may_end_at_a_tool_that_skips_consent(client, tool, db):
    assert directives(client.get(reverse("account_login")))["form-action"] == "'self'"

    oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Operator's tool",
        confidential=True,
        redirect_uris=["https://outil.operateur.example/callback"],
        grant_types=["authorization_code"],
        skip_consent=True,
    )
    login = client.get(reverse("account_login"))
    assert directives(login)["form-action"] == "'self' https://outil.operateur.example"
    # Other pages keep 'self' only.
    assert directives(client.get(reverse("core:home")))["form-action"] == "'self'"


def test_the_settings_name_the_policy():
    assert "csp.middleware.CSPMiddleware" in settings.MIDDLEWARE
    middleware = settings.MIDDLEWARE
    # The OpenID Connect widening runs inside django-csp's middleware, which builds the header.
    assert middleware.index("csp.middleware.CSPMiddleware") < middleware.index(
        "mutualis.identity.oidc.ClientFormActionMiddleware"
    )
