"""Single sign-on of a client application, in Chromium: a tool running on its own port
sends the person to the platform, who logs in and consents; the tool gets a code, trades
it for tokens (PKCE S256, Authlib), checks the ID token against the published keys, and
the person's logout from the tool ends the platform session. axe-core checks the
platform's pages on the way (login, consent, logout)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pyotp
import pytest
import requests
from allauth.idp.oidc.models import Client
from allauth.mfa.totp.internal.auth import TOTP
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache
from django.urls import reverse
from joserfc import jwt
from joserfc.jwk import KeySet

from mutualis.core import audit
from mutualis.core.models import Organisation
from mutualis.identity import oidc, oidc_clients
from mutualis.identity.services import ensure_user, grant_membership
from tests.factories.identity import PASSWORD, make_member
from tests.factories.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "louise.martin@example.org"
SCOPE = "openid email profile organisations"


@dataclass
class RelyingParty:
    """A client application reduced to what the flow shows: the address it listens on
    and the requests the browser brought back to it."""

    base: str
    visits: list[str] = field(default_factory=list)

    @property
    def callback(self) -> str:
        return f"{self.base}/callback"

    @property
    def logged_out(self) -> str:
        return f"{self.base}/logged-out"

    def last_visit(self, path: str) -> dict[str, list[str]]:
        found = [url for url in self.visits if urlsplit(url).path == path]
        assert found, f"the browser never came back to {path}: {self.visits}"
        return parse_qs(urlsplit(found[-1]).query)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def browser_context_args(browser_context_args):
    # A French browser, as the platform's people have: the pages are checked as they see them.
    return {**browser_context_args, "locale": "fr-FR"}


@pytest.fixture
def relying_party() -> Iterator[RelyingParty]:
    """A WSGI application on a free loopback port, in a thread of the test process."""
    visits: list[str] = []

    def app(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        visits.append(environ["PATH_INFO"] + (f"?{query}" if query else ""))
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b"<!DOCTYPE html><html lang='en'><title>Tool</title><h1>Back in the tool</h1>"]

    server = make_server("localhost", 0, app, WSGIServer, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RelyingParty(base=f"http://localhost:{server.server_port}", visits=visits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def provider(settings, tmp_path):
    settings.MUTUALIS_OIDC_PRIVATE_KEY = oidc.new_private_key_pem()
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY = ""
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH = tmp_path / "none.pem"
    # Authorization codes live in the cache, which the live server's threads share.
    cache.clear()


@pytest.fixture
def person(make_org):
    """A secretary of two organisations: roles that need no second factor."""
    user = ensure_user(email=EMAIL, password=PASSWORD, first_name="Louise", last_name="Martin")
    mairie = make_org(name="Mairie de Nuits", siren="212104623")
    syndicat = make_org(name="Syndicat des collèges", siren="200012345", kind="syndicat")
    make_member(mairie, EMAIL, roles=["secretary"])
    make_member(syndicat, EMAIL, roles=["secretary", "signatory"])
    return user


def test_a_tool_signs_a_person_in_and_out_through_the_platform(
    page, live_server, provider, relying_party, person, check_accessibility
):
    """Given a public client registered for a tool on this machine, when the person
    follows the tool's sign-in link, logs in and consents, then the tool receives a
    code that it exchanges (PKCE) for a signed ID token with the person's e-mail, name
    and organisations; and signing out from the tool ends the platform session."""
    base = live_server.url
    meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Visio du territoire",
        confidential=False,
        redirect_uris=[relying_party.callback],
        post_logout_redirect_uris=[relying_party.logged_out],
        grant_types=["authorization_code", "refresh_token"],
    )
    assert secret is None
    rp = OAuth2Session(
        client.id,
        scope=SCOPE,
        redirect_uri=relying_party.callback,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier, nonce = generate_token(64), generate_token(20)
    authorize_url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    # The tool sends the browser to the platform, which asks the person to log in.
    page.goto(authorize_url)
    assert urlsplit(page.url).path == "/accounts/login/"
    check_accessibility(page)
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form[action$='/accounts/login/'] [type=submit]").first.click()

    # First visit of this tool: the consent page names it.
    assert urlsplit(page.url).path == urlsplit(meta["authorization_endpoint"]).path
    assert "Visio du territoire" in page.locator("h1").inner_text()
    check_accessibility(page)
    with page.expect_navigation(url=f"{relying_party.callback}?**"):
        page.locator("button[name=action][value=grant]").click()

    # Back in the tool, with a code and the state it sent.
    returned = relying_party.last_visit("/callback")
    assert returned["state"] == [state]
    assert "error" not in returned
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=page.url, code_verifier=verifier
    )
    assert {"access_token", "id_token", "refresh_token"} <= set(token)

    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": base},
        aud={"essential": True, "value": client.id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True, "value": str(person.pk)},
        exp={"essential": True},
    ).validate(id_token.claims)
    claims = id_token.claims
    assert claims["email"] == EMAIL
    assert claims["name"] == "Louise Martin"
    slugs = dict(Organisation.objects.values_list("name", "slug"))
    assert claims["organisations"] == [
        {
            "siren": "212104623",
            "slug": slugs["Mairie de Nuits"],
            "name": "Mairie de Nuits",
            "roles": ["secretary"],
        },
        {
            "siren": "200012345",
            "slug": slugs["Syndicat des collèges"],
            "name": "Syndicat des collèges",
            "roles": ["secretary", "signatory"],
        },
    ]
    assert rp.get(meta["userinfo_endpoint"], timeout=10).status_code == 200

    # The person signs out from the tool, which sends the browser to the platform's
    # logout; the platform asks, then returns to the tool with the tool's state.
    logout_url = (
        requests.Request(
            "GET",
            meta["end_session_endpoint"],
            params={
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": relying_party.logged_out,
                "state": "bye",
            },
        )
        .prepare()
        .url
    )
    page.goto(logout_url)
    check_accessibility(page)
    with page.expect_navigation(url=f"{relying_party.logged_out}?**"):
        page.locator("button[name=action][value=logout]").click()
    assert relying_party.last_visit("/logged-out")["state"] == ["bye"]

    # The platform session is over: the tool's sign-in link leads to the login page
    # again, and the tool's tokens were revoked.
    page.goto(authorize_url)
    assert urlsplit(page.url).path == "/accounts/login/"
    assert rp.get(meta["userinfo_endpoint"], timeout=10).status_code == 401
    rp.close()


def test_a_tool_that_skips_consent_gets_its_code_straight_after_the_login(
    page, live_server, provider, relying_party, person
):
    """The operator's own tool skips the consent page: the login form's answer is a chain
    of redirects that ends at the tool. The Content-Security-Policy's form-action lets it
    through (the login page names the tool's registered origin), and the watch of every
    browser test would fail on a blocked form."""
    base = live_server.url
    client, _secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Intranet de l'opérateur",
        confidential=False,
        redirect_uris=[relying_party.callback],
        grant_types=["authorization_code"],
        skip_consent=True,
    )
    rp = OAuth2Session(
        client.id,
        scope="openid email",
        redirect_uri=relying_party.callback,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    authorize_url, state = rp.create_authorization_url(
        f"{base}{reverse('idp:oidc:authorization')}", code_verifier=generate_token(64)
    )
    page.goto(authorize_url)
    assert urlsplit(page.url).path == "/accounts/login/"
    page.fill("input[name=login]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation(url=f"{relying_party.callback}?**"):
        page.locator("form[action$='/accounts/login/'] [type=submit]").first.click()
    returned = relying_party.last_visit("/callback")
    assert returned["state"] == [state]
    assert "code" in returned
    rp.close()


def test_operator_staff_register_renew_and_delete_a_client_in_the_back_office(
    page, live_server, log_in, operator_org, check_accessibility
):
    """The back-office pages of client applications, each checked by axe-core: a refused
    address, the secret shown once, its renewal, the deletion."""
    staff = ensure_user(email="operateur@example.org", password=PASSWORD, first_name="Dominique")
    grant_membership(actor=None, user=staff, organisation=operator_org, roles=["org_admin"])
    # Operator staff must have a second factor: an authenticator app, answered by pyotp.
    secret = pyotp.random_base32()
    TOTP.activate(staff, secret)
    log_in(page, staff.email, PASSWORD)
    page.locator("input[name=code]").fill(totp_code(secret))
    with page.expect_navigation():
        page.locator("form[action$='/accounts/2fa/authenticate/'] [type=submit]").click()

    page.goto(f"{live_server.url}{reverse('backoffice:sso_client_list')}")
    check_accessibility(page)
    with page.expect_navigation():
        page.locator(f"a[href='{reverse('backoffice:sso_client_create')}']").click()
    check_accessibility(page)

    page.fill("input[name=name]", "Nuage du territoire")
    page.fill("textarea[name=redirect_uris]", "http://nuage.example.fr/apps/user_oidc/code")
    with page.expect_navigation():
        page.locator("form[method=post] button[type=submit]").last.click()
    assert not Client.objects.exists()
    assert (
        "http://nuage.example.fr/apps/user_oidc/code" in page.locator("[role=alert]").inner_text()
    )
    check_accessibility(page)

    page.fill("textarea[name=redirect_uris]", "https://nuage.example.fr/apps/user_oidc/code")
    with page.expect_navigation():
        page.locator("form[method=post] button[type=submit]").last.click()
    client = Client.objects.get()
    first_secret = page.locator("#client-secret").inner_text()
    assert client.check_secret(first_secret)
    check_accessibility(page)

    with page.expect_navigation():
        page.locator(
            f"a[href='{reverse('backoffice:sso_client_detail', args=[client.pk])}']"
        ).click()
    assert first_secret not in page.content()
    check_accessibility(page)

    with page.expect_navigation():
        page.locator("form[action$='/secret/'] button[type=submit]").click()
    second_secret = page.locator("#client-secret").inner_text()
    client.refresh_from_db()
    assert client.check_secret(second_secret)
    assert not client.check_secret(first_secret)

    page.goto(f"{live_server.url}{reverse('backoffice:sso_client_delete', args=[client.pk])}")
    check_accessibility(page)
    with page.expect_navigation():
        page.locator("form[method=post] button[type=submit]").last.click()
    assert urlsplit(page.url).path == reverse("backoffice:sso_client_list")
    assert not Client.objects.exists()
    check_accessibility(page)
