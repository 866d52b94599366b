"""What the OpenID Connect provider offers, and nothing more: the code flow (PKCE S256)
for people, client credentials and refresh tokens for programs; redirect URIs compared
exactly; a reused authorization code revokes what it gave (RFC 6749, 4.1.2)."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.idp.oidc.models import Token
from authlib.common.security import generate_token
from django.core.cache import cache
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent
from mutualis.identity import oidc, oidc_clients
from mutualis.identity.services import ensure_user
from tests.factories.identity import PASSWORD

REDIRECT_URI = "http://127.0.0.1:9999/cb"
LOGGED_OUT_URI = "http://127.0.0.1:9999/bye"
AUTHORIZE = "/identity/o/authorize"
TOKEN = "/identity/o/api/token"
USERINFO = "/identity/o/api/userinfo"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _provider(settings, tmp_path):
    settings.MUTUALIS_OIDC_PRIVATE_KEY = _KEY
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY = ""
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH = tmp_path / "none.pem"
    cache.clear()


_KEY = oidc.new_private_key_pem()


@pytest.fixture
def tool():
    client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Nuage",
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[LOGGED_OUT_URI],
        grant_types=["authorization_code", "refresh_token"],
        scopes=["openid", "email"],
        skip_consent=True,
    )
    return client, secret


@pytest.fixture
def browser(client):
    client.force_login(ensure_user(email="claire@example.org", password=PASSWORD))
    return client


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorize(browser, client_id: str, **params):
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "s1",
    } | params
    return browser.get(AUTHORIZE, {k: v for k, v in query.items() if v is not None})


def _code(browser, client_id: str, verifier: str) -> str:
    response = _authorize(
        browser, client_id, code_challenge=_challenge(verifier), code_challenge_method="S256"
    )
    assert response.status_code == 302, response.content
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def _exchange(anonymous, tool, code: str, verifier: str):
    client, secret = tool
    return anonymous.post(
        TOKEN,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        HTTP_AUTHORIZATION=_basic(client.id, secret),
    )


# --- Offer only what is documented -----------------------------------------------------


def test_discovery_lists_only_the_offered_grants_and_response_types(client):
    meta = client.get("/.well-known/openid-configuration").json()
    assert sorted(meta["grant_types_supported"]) == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert meta["response_types_supported"] == ["code"]
    assert meta["response_modes_supported"] == ["query"]
    assert "device_authorization_endpoint" not in meta


def test_the_device_endpoints_are_gone(client, tool):
    registered, _secret = tool
    cache_size_before = len(getattr(cache, "_cache", {}))
    response = client.post("/identity/o/api/device/code", {"client_id": registered.id})
    assert response.status_code == 404
    assert client.get("/identity/o/device").status_code == 404
    assert len(getattr(cache, "_cache", {})) == cache_size_before


@pytest.mark.parametrize(
    "response_type",
    ["token", "id_token", "id_token token", "code id_token", "code token", "none", "code "],
)
def test_implicit_and_hybrid_response_types_are_refused_to_the_client(browser, tool, response_type):
    registered, _secret = tool
    response = _authorize(browser, registered.id, response_type=response_type)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    answer = parse_qs(location.query)
    assert answer["error"] == ["unsupported_response_type"]
    assert answer["state"] == ["s1"]
    assert "code" not in answer
    assert not location.fragment


def test_a_fragment_response_mode_is_refused(browser, tool):
    registered, _secret = tool
    response = _authorize(browser, registered.id, response_mode="fragment")
    assert parse_qs(urlsplit(response["Location"]).query)["error"] == ["invalid_request"]


@pytest.mark.parametrize(
    "grant_type",
    ["password", "urn:ietf:params:oauth:grant-type:device_code", "implicit", ""],
)
def test_grants_not_offered_are_refused_at_the_token_endpoint(client, tool, grant_type):
    registered, secret = tool
    response = client.post(
        TOKEN,
        {"grant_type": grant_type, "username": "a", "password": "b", "device_code": "x"},
        HTTP_AUTHORIZATION=_basic(registered.id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_client_uses_only_its_registered_grants(browser, client, tool):
    """A tool registered for the code flow gets no client-credentials token; a machine
    client is not sent an authorization code."""
    registered, secret = tool
    response = client.post(
        TOKEN,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(registered.id, secret),
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unauthorized_client"

    machine, _machine_secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name="Entrepôt",
        grant_types=["client_credentials"],
        scopes=["openid"],
    )
    machine.set_redirect_uris([REDIRECT_URI])
    machine.save()
    refused = _authorize(browser, machine.id, scope="openid")
    assert refused.status_code == 302
    assert parse_qs(urlsplit(refused["Location"]).query)["error"] == ["unauthorized_client"]


# --- A reused code revokes what it gave ------------------------------------------------


def test_a_reused_code_is_refused_and_revokes_the_tokens_it_gave(browser, client, tool):
    """Given tokens obtained with a code and refreshed once, when the code is sent again,
    then it is refused, and the access and refresh tokens issued so far stop working."""
    registered, secret = tool
    verifier = generate_token(64)
    code = _code(browser, registered.id, verifier)
    client.logout()
    first = _exchange(client, tool, code, verifier)
    assert first.status_code == 200, first.content
    tokens = first.json()
    assert (
        client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code
        == 200
    )
    refreshed = client.post(
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=_basic(registered.id, secret),
    ).json()
    assert refreshed["access_token"]

    reused = _exchange(client, tool, code, verifier)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"

    for access_token in (tokens["access_token"], refreshed["access_token"]):
        assert client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code == 401
    again = client.post(
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        HTTP_AUTHORIZATION=_basic(registered.id, secret),
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert not Token.objects.exists()
    with scopes_disabled():
        event = AuditEvent.objects.get(action="oidc.code_reuse_revoked")
    assert event.payload["access_tokens"] == 2
    assert event.payload["refresh_tokens"] == 1


def test_a_reused_code_leaves_the_tokens_of_other_codes_alone(browser, client, tool):
    registered, _secret = tool
    verifier = generate_token(64)
    reused_code = _code(browser, registered.id, verifier)
    other_code = _code(browser, registered.id, verifier)
    assert _exchange(client, tool, reused_code, verifier).status_code == 200
    other = _exchange(client, tool, other_code, verifier).json()

    assert _exchange(client, tool, reused_code, verifier).status_code == 400
    userinfo = client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {other['access_token']}")
    assert userinfo.status_code == 200


def test_an_unknown_code_revokes_nothing_and_stores_nothing(client, tool):
    before = Token.objects.count()
    response = _exchange(client, tool, generate_token(30), generate_token(64))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert Token.objects.count() == before
    with scopes_disabled():
        assert not AuditEvent.objects.filter(action="oidc.code_reuse_revoked").exists()


# --- Redirect URIs match exactly ---------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:9999/cb?x=1",
        "HTTP://127.0.0.1:9999/cb",
        "http://127.0.0.1:9999/CB",
        "http://127.0.0.1:9999/cb/",
        "http://127.0.0.1:9999/cb#frag",
        "http://127.0.0.1:9998/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:9999/cb/../cb",
        "http://127.0.0.1:9999/c%62",
        "http://localhost:9999/cb",
    ],
)
def test_a_redirect_uri_that_is_not_exactly_registered_gets_a_page_not_a_redirect(
    browser, tool, redirect_uri
):
    registered, _secret = tool
    response = _authorize(browser, registered.id, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "Mismatching redirect URI" in response.content.decode()


def test_the_registered_redirect_uri_itself_is_accepted(browser, tool):
    registered, _secret = tool
    verifier = generate_token(64)
    assert _code(browser, registered.id, verifier)


def test_a_post_logout_address_must_be_exactly_registered(browser, tool):
    registered, _secret = tool
    for uri in (f"{LOGGED_OUT_URI}?x=1", "HTTP://127.0.0.1:9999/bye", REDIRECT_URI):
        response = browser.get(
            "/identity/o/logout",
            {"client_id": registered.id, "post_logout_redirect_uri": uri},
        )
        assert response.status_code != 302
        assert uri not in response.get("Location", "")
    accepted = browser.get(
        "/identity/o/logout",
        {"client_id": registered.id, "post_logout_redirect_uri": LOGGED_OUT_URI},
    )
    assert accepted.status_code == 200  # the question: sign out of the platform too?


def test_an_exchange_racing_a_reuse_gives_up_its_tokens(browser, client, tool, monkeypatch):
    """Given the code sent again while its first exchange is still issuing tokens, then
    the first exchange is refused too, and what it issued is revoked."""
    from mutualis.identity import oidc_grants

    registered, _secret = tool
    verifier = generate_token(64)
    code = _code(browser, registered.id, verifier)
    real_tag = oidc_grants.tag_tokens
    replays = []

    def replay_then_tag(**kwargs):
        replays.append(_exchange(client, tool, code, verifier))
        real_tag(**kwargs)

    monkeypatch.setattr(oidc_grants, "tag_tokens", replay_then_tag)
    first = _exchange(client, tool, code, verifier)

    assert replays[0].status_code == 400
    assert first.status_code == 400
    assert first.json()["error"] == "invalid_grant"
    assert not Token.objects.exists()


def test_a_live_code_sent_twice_at_once_is_exchanged_once(browser, client, tool):
    from mutualis.identity import oidc_grants

    registered, _secret = tool
    verifier = generate_token(64)
    code = _code(browser, registered.id, verifier)
    # Another request claimed the code and has not finished.
    assert oidc_grants.begin_exchange(oidc_grants.grant_of_code(code))
    response = _exchange(client, tool, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not Token.objects.exists()


@pytest.mark.redis
def test_the_single_use_of_a_code_holds_in_redis(browser, client, tool, settings):
    """Codes and the mark of their exchange live in the shared cache production uses."""
    import uuid

    from tests.conftest import REDIS_URL

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    registered, _secret = tool
    verifier = generate_token(64)
    code = _code(browser, registered.id, verifier)
    tokens = _exchange(client, tool, code, verifier).json()

    assert _exchange(client, tool, code, verifier).json()["error"] == "invalid_grant"
    userinfo = client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert userinfo.status_code == 401
