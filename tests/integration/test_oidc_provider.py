"""The platform as an OpenID Connect provider, driven by a real client (Authlib) against
the running server: login, consent, code with PKCE, ID token checked against the JWKS,
userinfo, refresh, RP-initiated logout; and the errors the specifications prescribe."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from allauth.idp.oidc.models import Client
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from django.core.cache import cache
from django.core.management import call_command
from django_scopes import scopes_disabled
from joserfc import jwt
from joserfc.jwk import KeySet

from mutualis.core import audit
from mutualis.core.models import AuditEvent, Organisation
from mutualis.identity import oidc, oidc_clients
from mutualis.identity.services import ensure_user
from tests.factories.identity import PASSWORD, make_member

# Never served: the client reads the code from the redirect's Location header.
REDIRECT_URI = "http://localhost:8765/callback"
LOGGED_OUT_URI = "http://localhost:8765/logged-out"
SCOPE = "openid email profile organisations"
EMAIL = "claire.dupont@example.org"
live = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def signing_key() -> str:
    return oidc.new_private_key_pem()


@pytest.fixture(autouse=True)
def _provider(settings, signing_key, tmp_path):
    settings.MUTUALIS_OIDC_PRIVATE_KEY = signing_key
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY = ""
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH = tmp_path / "none.pem"
    # Authorization codes and allauth's rate-limit counters live in the cache.
    cache.clear()
    yield
    # Kept-alive connections would hold a server thread past the live server's life.
    for session in _SESSIONS:
        session.close()
    _SESSIONS.clear()


_SESSIONS: list[requests.Session] = []


def _kept(session):
    _SESSIONS.append(session)
    return session


@pytest.fixture
def person(make_org):
    """A person acting for two organisations, with roles that need no second factor."""
    user = ensure_user(email=EMAIL, password=PASSWORD, first_name="Claire", last_name="Dupont")
    mairie = make_org(name="Mairie de Beaune", siren="212100548")
    syndicat = make_org(name="Syndicat des eaux", siren="200012345", kind="syndicat")
    make_member(mairie, EMAIL, roles=["secretary", "signatory"])
    make_member(syndicat, EMAIL, roles=["secretary"])
    return user


def register(**kwargs) -> tuple[Client, str | None]:
    options = {
        "actor": audit.SystemActor("test"),
        "name": "Nuage",
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [LOGGED_OUT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
    } | kwargs
    return oidc_clients.register_client(**options)


class FormReader(HTMLParser):
    """The fields of the page's form that posts to ``action``."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action", "") in ("", self.action)
        elif tag == "input" and self.inside and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((attrs["name"], attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def form_fields(html: str, action: str) -> list[tuple[str, str]]:
    reader = FormReader(action)
    reader.feed(html)
    return reader.fields


def discovery(base: str) -> dict:
    response = requests.get(f"{base}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    return response.json()


def signed_in_browser(base: str, email: str = EMAIL) -> requests.Session:
    """A browser session signed in through allauth's login form."""
    browser = _kept(requests.Session())
    browser.get(f"{base}/accounts/login/", timeout=10)
    response = browser.post(
        f"{base}/accounts/login/",
        data={
            "login": email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return browser


def authorize(browser: requests.Session, url: str, *, consent: bool = True) -> str:
    """Follow an authorization URL as the person, granting consent; the redirect target."""
    response = browser.get(url, allow_redirects=False, timeout=10)
    if consent:
        assert response.status_code == 200, response.text
        path = urlsplit(url).path
        fields = form_fields(response.text, path)
        assert ("action", "grant") not in fields  # the buttons are not inputs
        response = browser.post(
            url.split("?")[0],
            data=[*fields, ("action", "grant")],
            allow_redirects=False,
            timeout=10,
        )
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def rp_session(client: Client, secret: str | None) -> OAuth2Session:
    return _kept(
        OAuth2Session(
            client.id,
            secret,
            scope=SCOPE,
            redirect_uri=REDIRECT_URI,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
        )
    )


def at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@live
def test_full_code_flow_with_consent_pkce_refresh_and_logout(live_server, person):
    """Given a registered tool and a signed-in person, when the tool runs the code flow,
    then it gets a verifiable ID token with the person's organisations, userinfo, a
    refresh, and the logout ends the platform session."""
    base = live_server.url
    meta = discovery(base)
    assert meta["issuer"] == base
    assert "organisations" in meta["scopes_supported"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    client, secret = register()
    rp = rp_session(client, secret)
    browser = signed_in_browser(base)

    verifier, nonce = generate_token(64), generate_token(20)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    location = authorize(browser, url)
    assert location.startswith(REDIRECT_URI)
    assert parse_qs(urlsplit(location).query)["state"] == [state]

    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert {"access_token", "id_token", "refresh_token"} <= set(token)

    # The ID token verifies with the published key set, and carries the claims.
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
    assert claims["at_hash"] == at_hash(token["access_token"])
    assert claims["email"] == EMAIL
    assert claims["email_verified"] is True
    assert claims["name"] == "Claire Dupont"
    slugs = dict(Organisation.objects.values_list("name", "slug"))
    assert claims["organisations"] == [
        {
            "siren": "212100548",
            "slug": slugs["Mairie de Beaune"],
            "name": "Mairie de Beaune",
            "roles": ["secretary", "signatory"],
        },
        {
            "siren": "200012345",
            "slug": slugs["Syndicat des eaux"],
            "name": "Syndicat des eaux",
            "roles": ["secretary"],
        },
    ]
    assert claims["preferred_username"] == EMAIL
    assert claims["groups"] == [slugs["Mairie de Beaune"], slugs["Syndicat des eaux"]]

    userinfo = rp.get(meta["userinfo_endpoint"], timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["organisations"] == claims["organisations"]
    assert userinfo.json()["sub"] == claims["sub"]

    # Refresh: a new access token; the used refresh token is rotated out.
    old_refresh = token["refresh_token"]
    refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != old_refresh
    replay = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=(client.id, secret),
        timeout=10,
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert rp.get(meta["userinfo_endpoint"], timeout=10).status_code == 200

    # RP-initiated logout: the platform asks, then signs the person out and returns.
    logout_url = meta["end_session_endpoint"]
    params = {
        "id_token_hint": token["id_token"],
        "post_logout_redirect_uri": LOGGED_OUT_URI,
        "state": "bye",
    }
    page = browser.get(logout_url, params=params, allow_redirects=False, timeout=10)
    assert page.status_code == 200
    fields = form_fields(page.text, urlsplit(logout_url).path)
    response = browser.post(
        logout_url, data=[*fields, ("action", "logout")], allow_redirects=False, timeout=10
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{LOGGED_OUT_URI}?state=bye"
    # The platform session is over, and the tool's tokens are revoked.
    again = browser.get(url, allow_redirects=False, timeout=10)
    assert again.status_code == 302
    assert "/accounts/login/" in again.headers["Location"]
    assert rp.get(meta["userinfo_endpoint"], timeout=10).status_code == 401


@live
def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(live_server, person):
    base = live_server.url
    meta = discovery(base)
    client, secret = register()
    browser = signed_in_browser(base)
    rp = _kept(
        OAuth2Session(
            client.id,
            secret,
            scope=SCOPE,
            redirect_uri="https://evil.example/callback",
            code_challenge_method="S256",
        )
    )
    url, _state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=generate_token(64)
    )
    response = browser.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Mismatching redirect URI" in response.text
    assert 'href="https://evil.example' not in response.text


@live
def test_a_wrong_pkce_verifier_and_a_reused_code_are_invalid_grants(live_server, person):
    base = live_server.url
    meta = discovery(base)
    client, secret = register(skip_consent=True)
    browser = signed_in_browser(base)

    def new_code(verifier: str) -> str:
        rp = rp_session(client, secret)
        url, _state = rp.create_authorization_url(
            meta["authorization_endpoint"], code_verifier=verifier
        )
        location = authorize(browser, url, consent=False)
        return parse_qs(urlsplit(location).query)["code"][0]

    def exchange(code: str, verifier: str) -> requests.Response:
        return requests.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=(client.id, secret),
            timeout=10,
        )

    verifier = generate_token(64)
    wrong = exchange(new_code(verifier), generate_token(64))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"

    code = new_code(verifier)
    assert exchange(code, verifier).status_code == 200
    reused = exchange(code, verifier)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


@live
def test_a_public_client_must_use_pkce_with_s256(live_server, person):
    base = live_server.url
    meta = discovery(base)
    client, secret = register(confidential=False, skip_consent=True)
    assert secret is None
    browser = signed_in_browser(base)
    endpoint = meta["authorization_endpoint"]
    common = {
        "client_id": client.id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": "s1",
    }

    missing = authorize(
        browser, requests.Request("GET", endpoint, params=common).prepare().url, consent=False
    )
    assert parse_qs(urlsplit(missing).query)["error"] == ["invalid_request"]

    verifier = generate_token(64)
    plain = (
        requests.Request(
            "GET",
            endpoint,
            params=common | {"code_challenge": verifier, "code_challenge_method": "plain"},
        )
        .prepare()
        .url
    )
    refused = parse_qs(urlsplit(authorize(browser, plain, consent=False)).query)
    assert refused["error"] == ["invalid_request"]
    assert refused["state"] == ["s1"]
    assert "code" not in refused

    # With S256 and no secret, the public client gets its tokens.
    rp = rp_session(client, None)
    url, _state = rp.create_authorization_url(endpoint, code_verifier=verifier)
    location = authorize(browser, url, consent=False)
    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=location, code_verifier=verifier
    )
    assert "id_token" in token


@live
def test_a_machine_client_gets_an_access_token_with_client_credentials(live_server):
    base = live_server.url
    meta = discovery(base)
    client, secret = register(
        name="Entrepôt de données",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["openid"],
    )
    response = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "client_credentials", "scope": "openid"},
        auth=(client.id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["access_token"]
    assert "refresh_token" not in token
    wrong_secret = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(client.id, "not-the-secret"),
        timeout=10,
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"


# --- Without the live server ----------------------------------------------------------


@pytest.mark.django_db
def test_a_plain_pkce_request_to_an_unregistered_redirect_gets_a_page_not_a_redirect(client):
    registered, _secret = register()
    for client_id, redirect_uri in [
        (registered.id, "https://evil.example/callback"),
        ("no-such-client", REDIRECT_URI),
    ]:
        response = client.get(
            "/identity/o/authorize",
            {
                "client_id": client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "scope": "openid",
                "code_challenge": generate_token(64),
                "code_challenge_method": "plain",
            },
        )
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "S256" in response.content.decode()


@pytest.mark.django_db
def test_after_a_rotation_both_keys_are_published_and_the_new_one_signs(client, settings, tmp_path):
    settings.MUTUALIS_OIDC_PRIVATE_KEY = ""
    settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH = tmp_path / "keys" / "oidc.pem"
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH = tmp_path / "keys" / "oidc.previous.pem"
    call_command("init_oidc_key", stdout=None)
    first = settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH.read_text()
    assert settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH.stat().st_mode & 0o777 == 0o600
    assert len(client.get("/.well-known/jwks.json").json()["keys"]) == 1

    call_command("init_oidc_key", "--rotate")
    assert settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH.read_text() == first
    assert settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH.read_text() != first
    published = [key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]]
    assert len(set(published)) == 2

    adapter = oidc.OIDCAdapter()
    assert adapter.get_signing_key().pem == settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH.read_text()


# --- Registering clients ---------------------------------------------------------------


@pytest.mark.django_db
def test_registering_a_client_stores_a_hashed_secret_and_writes_the_platform_trail(
    operator_staff,
):
    client, secret = oidc_clients.register_client(
        actor=operator_staff,
        name="  Visio   du territoire ",
        redirect_uris=["https://visio.example.fr/auth/openid_connect/callback"],
        grant_types=["authorization_code", "refresh_token"],
    )
    client.refresh_from_db()
    assert client.name == "Visio du territoire"
    assert client.type == Client.Type.CONFIDENTIAL
    assert secret
    assert client.secret != secret
    assert client.check_secret(secret)
    assert client.get_scopes() == ["openid", "email", "profile", "organisations"]
    with scopes_disabled():
        event = AuditEvent.objects.get(action="oidc.client_registered")
    assert event.chain == audit.PLATFORM_CHAIN
    assert event.object_id == client.id
    assert event.payload["redirect_uris"] == [
        "https://visio.example.fr/auth/openid_connect/callback"
    ]
    assert secret not in str(event.payload)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"redirect_uris": ["http://cloud.example.fr/cb"]}, "oidc_redirect_uri_invalid"),
        ({"redirect_uris": []}, "oidc_redirect_uri_required"),
        ({"scopes": ["openid", "admin"]}, "oidc_scope_unknown"),
        ({"grant_types": ["password"]}, "oidc_grant_type_unknown"),
        (
            {"confidential": False, "grant_types": ["client_credentials"]},
            "oidc_public_client_credentials",
        ),
        ({"name": "  "}, "oidc_client_name_required"),
    ],
)
def test_a_bad_registration_is_refused_and_changes_nothing(operator_staff, changes, code):
    options = {
        "actor": operator_staff,
        "name": "Sondages",
        "redirect_uris": ["https://sondages.example.fr/cb"],
    } | changes
    with pytest.raises(oidc_clients.ClientRegistrationError) as excinfo:
        oidc_clients.register_client(**options)
    assert excinfo.value.code == code
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_only_operator_staff_may_register_a_client(agent_a):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        oidc_clients.register_client(
            actor=agent_a, name="Outil", redirect_uris=["https://outil.example.fr/cb"]
        )
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_the_command_registers_a_client_and_prints_its_secret_once(operator_staff):
    from io import StringIO

    out = StringIO()
    call_command(
        "register_oidc_client",
        "--name=Nuage",
        "--redirect-uri=https://cloud.example.fr/apps/user_oidc/code",
        f"--actor={operator_staff.user.email}",
        stdout=out,
    )
    lines = dict(line.split(":", 1) for line in out.getvalue().splitlines() if ":" in line)
    client = Client.objects.get(pk=lines["client_id"].strip())
    assert client.check_secret(lines["client_secret"].strip())
    assert client.get_grant_types() == ["authorization_code", "refresh_token"]
    with scopes_disabled():
        event = AuditEvent.objects.get(action="oidc.client_registered")
    assert event.actor == f"user:{operator_staff.user.audit_pseudonym}"


def test_a_signing_key_is_parsed_once_per_process(signing_key):
    """allauth parses the signing key's PEM for every ID token; the platform keeps the
    parsed key, so that a refresh does not pay an RSA key check each time."""
    from allauth.core.internal import jwkkit

    before = jwkkit.load_pem.cache_info()
    first = jwkkit.load_jwk_from_pem(signing_key)
    second = jwkkit.load_jwk_from_pem(signing_key)

    assert first[1] is second[1]
    assert first[0]["kid"] == second[0]["kid"]
    assert jwkkit.load_pem.cache_info().hits >= before.hits + 1
