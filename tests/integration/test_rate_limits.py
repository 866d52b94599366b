"""Rate limits: the API per address and per client, the token endpoint per address and
per client; 429 with Retry-After in the API's error shape. One test runs against Redis,
the production cache."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.urls import reverse

from mutualis.core import audit, ratelimit
from mutualis.identity import oidc_clients
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.django_db

API = "/api/v1/organisations"


def assert_limited(response) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["field"] is None
    assert body["message"]


def api_client_of(organisation, scopes=("api:read",)) -> tuple[str, str]:
    client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("test"),
        name=f"Logiciel {uuid.uuid4().hex[:6]}",
        scopes=list(scopes),
        grant_types=["client_credentials"],
        organisation_id=organisation.pk,
    )
    return client.pk, secret


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_request(client, credentials, address="192.0.2.1"):
    return client.post(
        reverse("idp:oidc:token"),
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(*credentials),
        REMOTE_ADDR=address,
    )


def test_the_api_limits_each_address(client, settings):
    settings.MUTUALIS_API_RATE_PER_ADDRESS = "3/m"

    for _n in range(3):
        assert client.get(API, REMOTE_ADDR="192.0.2.1").status_code == 200
    assert_limited(client.get(API, REMOTE_ADDR="192.0.2.1"))
    # Invalid requests count too, and another address is not affected.
    assert_limited(client.get(API, {"page": 0}, REMOTE_ADDR="192.0.2.1"))
    assert client.get(API, REMOTE_ADDR="192.0.2.2").status_code == 200


@pytest.mark.urls("tests.integration.api_test_urls")
def test_the_api_limits_each_client(client, settings, org_a):
    """Operations that authenticate their client (here a test-only one) count its
    requests; open-data operations count per address only."""
    settings.MUTUALIS_API_RATE_PER_CLIENT = "2/m"
    tokens = []
    for _n in range(2):
        response = token_request(client, api_client_of(org_a))
        tokens.append(response.json()["access_token"])
    first, second = ({"HTTP_AUTHORIZATION": f"Bearer {t}"} for t in tokens)

    for _n in range(2):
        assert client.get("/test-api/scope", **first).status_code == 200
    assert_limited(client.get("/test-api/scope", **first))
    # Same address, another client: its own count.
    assert client.get("/test-api/scope", **second).status_code == 200


def test_the_token_endpoint_limits_each_address(client, settings, org_a):
    settings.MUTUALIS_TOKEN_RATE_PER_ADDRESS = "2/m"
    credentials = api_client_of(org_a)

    assert token_request(client, credentials).status_code == 200
    assert token_request(client, (credentials[0], "wrong")).status_code == 401
    assert_limited(token_request(client, credentials))
    assert token_request(client, credentials, address="192.0.2.9").status_code == 200


def test_the_token_endpoint_limits_each_client_on_the_tokens_it_got(client, settings, org_a):
    settings.MUTUALIS_TOKEN_RATE_PER_CLIENT = "2/m"
    credentials = api_client_of(org_a)

    # Failures with the client's id (anyone can send it) do not use its allowance.
    for n in range(3):
        wrong = token_request(client, (credentials[0], "wrong"), address=f"198.51.100.{n}")
        assert wrong.status_code == 401
    for n in range(2):
        assert token_request(client, credentials, address=f"203.0.113.{n}").status_code == 200
    limited = token_request(client, credentials, address="203.0.113.9")
    assert_limited(limited)
    assert limited.json()["error"] == "rate_limited"


def test_limits_can_be_switched_off_for_a_benchmark(client, settings):
    settings.MUTUALIS_API_RATE_PER_ADDRESS = "1/m"
    settings.MUTUALIS_RATE_LIMITS_ENABLED = False

    assert [client.get(API).status_code for _n in range(3)] == [200, 200, 200]


def test_each_window_counts_afresh(client, settings, rate_clock):
    """Fixed windows: the count starts again when the clock enters the next one (the
    suite's clock stands still, one second into a window, unless a test moves it)."""
    settings.MUTUALIS_API_RATE_PER_ADDRESS = "2/m"

    assert [client.get(API).status_code for _n in range(2)] == [200, 200]
    limited = client.get(API)
    assert_limited(limited)
    assert int(limited["Retry-After"]) == 59
    rate_clock.advance(58.5)
    assert client.get(API).status_code == 429
    rate_clock.advance(1)
    assert [client.get(API).status_code for _n in range(3)] == [200, 200, 429]


def test_a_rate_is_written_count_slash_unit():
    assert ratelimit.Rate.parse("120/m") == ratelimit.Rate(limit=120, period=60)
    for wrong in ("120", "0/m", "x/m", "5/week"):
        with pytest.raises(ValueError, match="Invalid rate"):
            ratelimit.Rate.parse(wrong)


@pytest.mark.redis
def test_the_limit_counts_in_redis(client, settings):
    """The counters are shared by every web process through Redis (Django's own
    RedisCache backend), the cache production and CI use."""
    import redis

    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    settings.MUTUALIS_API_RATE_PER_ADDRESS = "2/m"

    statuses = [client.get(API, REMOTE_ADDR="192.0.2.7").status_code for _n in range(3)]

    assert statuses == [200, 200, 429]
    server = redis.Redis.from_url(REDIS_URL)
    keys = server.keys(f"{prefix}:*ratelimit:api-address:*")
    assert len(keys) == 1
    assert int(server.get(keys[0])) == 3
    assert 0 < server.ttl(keys[0]) <= 61
    server.delete(*keys)
