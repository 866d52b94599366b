"""Benchmark: the OpenID Connect token endpoint under 16 clients: client credentials,
code exchange, refresh.

Usage: ``DATABASE_URL=postgres://… python bench/token_throughput.py [--seconds S]``

On a throwaway PostgreSQL database next to DATABASE_URL's, serves the platform with
gunicorn sync workers on a loopback port, registers a confidential client (consent
skipped, as for the operator's own tools) and signs 16 people in, one per client. Then,
from 16 threads, in the same run:

1. reference: GET ``/.well-known/openid-configuration`` (a request that does no work);
2. client credentials: a machine client of the API (bound to a commune, scopes
   ``api:read api:write``) asks for access tokens again and again, its secret stored
   as one SHA-256 (``mutualis.identity.hashers``);
3. the same with a secret still hashed with Argon2, as every secret was before (what an
   old client costs until its secret is renewed);
4. authorization: each client drives the authorize endpoint with its person's session
   (PKCE S256, URL built by Authlib) and keeps the codes;
5. code exchange: each client trades its codes at the token endpoint (client secret,
   code verifier) for access, refresh and ID tokens;
6. refresh: each client refreshes its tokens again and again (rotated refresh tokens).

A second reference is Argon2 verification with the configured hasher, as many at once
as the server has workers: the cost each token request paid when allauth stored client
secrets with Django's password hasher. Target: client credentials and refresh at least
0.1 x the discovery document's requests/s (the exit status says whether it is met).

Prints tokens/s with p50/p95 for each grant and the ratios to the references, rewrites
the ``token_throughput`` section of ``bench/RESULTS.md``, drops the database. The server
runs with the lock-out and allauth's rate limits switched off through its environment
(MUTUALIS_AXES_ENABLED=false, MUTUALIS_RATE_LIMITS_ENABLED=false), as
``login_throughput`` does, for the 16 logins from one address that set the run up (and
the platform's own limits on the token endpoint). The server uses the cache CACHE_URL
names (Redis in production; the database cache when unset).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session

from results import REPO, machine, table, write_section
from serving import (
    Exhausted,
    Load,
    argon2_reference,
    bench_platform,
    gunicorn,
    load,
    ms,
    reference_row,
    require_postgres,
)

CLIENTS = 16
WORKERS = 4
# Codes live 60 seconds (allauth): few enough per client to be traded in time.
CODES_PER_CLIENT = 8
TARGET = 0.1
PASSWORD = "correct horse battery staple"  # noqa: S105  (throwaway bench accounts)
REDIRECT_URI = "http://localhost/callback"  # never served: the code is read from Location
SCOPE = "openid email profile organisations"
SERVER_ENV = {"MUTUALIS_AXES_ENABLED": "false", "MUTUALIS_RATE_LIMITS_ENABLED": "false"}


def make_people(count: int) -> tuple[list[str], int]:
    """``count`` people, each a secretary of one commune (the ``organisations`` claim
    then reads a membership, as it does for real people). One Argon2 hash for all."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django_scopes import scopes_disabled

    from mutualis.core.models import Organisation
    from mutualis.identity.models import Membership, Role, User

    encoded = make_password(PASSWORD)
    users = User.objects.bulk_create(
        [
            User(email=f"agent{n:02d}@bench.example.org", password=encoded, first_name="Agent")
            for n in range(count)
        ]
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
    )
    commune = Organisation.objects.create(
        name="Commune de banc d'essai", kind="commune", siren="212100548", slug="banc-essai"
    )
    secretary = Role.objects.get(code="secretary")
    # Set-up rows of one member, written outside any request.
    with scopes_disabled():
        memberships = Membership.objects.bulk_create(
            [Membership(user=u, organisation=commune) for u in users]
        )
        Membership.roles.through.objects.bulk_create(
            [Membership.roles.through(membership=m, role=secretary) for m in memberships]
        )
    return [u.email for u in users], commune.pk


def register_client() -> tuple[str, str]:
    from mutualis.core import audit
    from mutualis.identity import oidc_clients

    client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("bench"),
        name="Banc d'essai",
        redirect_uris=[REDIRECT_URI],
        scopes=SCOPE.split(),
        grant_types=["authorization_code", "refresh_token"],
        skip_consent=True,
    )
    assert secret
    return client.id, secret


def register_api_client(commune_id: int, *, argon2: bool = False) -> tuple[str, str]:
    """A machine client of the API acting for the commune; with ``argon2``, its secret
    is stored as before the SHA-256 hasher (Django's first hasher)."""
    from allauth.idp.oidc.models import Client
    from django.contrib.auth.hashers import make_password

    from mutualis.core import audit
    from mutualis.identity import oidc_clients

    client, secret = oidc_clients.register_client(
        actor=audit.SystemActor("bench"),
        name="Logiciel de la commune (Argon2)" if argon2 else "Logiciel de la commune",
        scopes=["api:read", "api:write"],
        grant_types=["client_credentials"],
        organisation_id=commune_id,
    )
    assert secret
    if argon2:
        Client.objects.filter(pk=client.pk).update(secret=make_password(secret))
    return client.id, secret


def signed_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    login_url = f"{base}/accounts/login/"
    session.get(login_url, timeout=30).raise_for_status()
    response = session.post(
        login_url,
        data={
            "login": email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": login_url},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302 or response.headers["Location"] != "/":
        raise RuntimeError(f"login of {email} failed: {response.status_code}")
    return session


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each run")
    parser.add_argument("--reference-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn sync workers")
    # bench/run.py hands every benchmark the same arguments: ignore the others' ones.
    args, _others = parser.parse_known_args(argv)
    admin_url = require_postgres("token_throughput.py")

    with bench_platform(admin_url, "token", SERVER_ENV) as plat:
        # The Argon2 reference runs before and after the load: on a shared machine, a
        # change of the neighbours' load shows as a gap between the two.
        print(f"Reference: Argon2 verifications, {args.workers} threads…", flush=True)
        before, argon2_params = argon2_reference(args.workers, args.reference_seconds)
        emails, commune_id = make_people(CLIENTS)
        client_id, client_secret = register_client()
        api_client = register_api_client(commune_id)
        old_api_client = register_api_client(commune_id, argon2=True)
        cache_backend = _cache_backend()
        with gunicorn(plat, workers=args.workers) as base:
            meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=30).json()
            browsers = [signed_in(base, email) for email in emails]
            apis = [requests.Session() for _n in range(CLIENTS)]
            for api in apis:
                api.auth = (client_id, client_secret)
            codes: list[list[tuple[str, str]]] = [[] for _n in range(CLIENTS)]
            refresh_tokens: list[str] = [""] * CLIENTS

            def discovery(client: int) -> None:
                response = apis[client].get(
                    f"{base}/.well-known/openid-configuration", auth=None, timeout=30
                )
                response.raise_for_status()

            def credentials(pair: tuple[str, str]) -> Callable[[int], None]:
                def request_token(client: int) -> None:
                    response = apis[client].post(
                        meta["token_endpoint"],
                        data={"grant_type": "client_credentials", "scope": "api:read"},
                        auth=pair,
                        timeout=30,
                    )
                    if response.status_code != 200 or not response.json().get("access_token"):
                        raise RuntimeError(
                            f"client credentials: {response.status_code} {response.text[:200]}"
                        )

                return request_token

            def authorize(client: int) -> None:
                if len(codes[client]) >= CODES_PER_CLIENT:
                    raise Exhausted()
                verifier = secrets.token_urlsafe(48)
                rp = OAuth2Session(
                    client_id, scope=SCOPE, redirect_uri=REDIRECT_URI, code_challenge_method="S256"
                )
                url, state = rp.create_authorization_url(
                    meta["authorization_endpoint"], code_verifier=verifier
                )
                response = browsers[client].get(url, allow_redirects=False, timeout=30)
                location = response.headers.get("Location", "")
                if response.status_code != 302 or not location.startswith(REDIRECT_URI):
                    raise RuntimeError(f"authorize answered {response.status_code} {location}")
                query = parse_qs(urlsplit(location).query)
                if query.get("state") != [state]:
                    raise RuntimeError(f"authorize refused: {query}")
                codes[client].append((query["code"][0], verifier))

            def exchange(client: int) -> None:
                if not codes[client]:
                    raise Exhausted()
                code, verifier = codes[client].pop()
                response = apis[client].post(
                    meta["token_endpoint"],
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": REDIRECT_URI,
                        "code_verifier": verifier,
                    },
                    timeout=30,
                )
                if response.status_code != 200:
                    raise RuntimeError(f"exchange: {response.status_code} {response.text[:200]}")
                token = response.json()
                if "id_token" not in token:
                    raise RuntimeError("exchange: no ID token")
                refresh_tokens[client] = token["refresh_token"]

            def refresh(client: int) -> None:
                if not refresh_tokens[client]:
                    raise Exhausted()
                response = apis[client].post(
                    meta["token_endpoint"],
                    data={"grant_type": "refresh_token", "refresh_token": refresh_tokens[client]},
                    timeout=30,
                )
                if response.status_code != 200:
                    raise RuntimeError(f"refresh: {response.status_code} {response.text[:200]}")
                refresh_tokens[client] = response.json()["refresh_token"]

            runs: dict[str, Load] = {}
            for name, operation, seconds, cap in [
                ("discovery", discovery, args.reference_seconds, 100_000),
                ("credentials", credentials(api_client), args.seconds, 100_000),
                (
                    "credentials_argon2",
                    credentials(old_api_client),
                    args.reference_seconds,
                    100_000,
                ),
                ("authorize", authorize, 2 * args.seconds, CLIENTS * CODES_PER_CLIENT),
                ("exchange", exchange, args.seconds, CLIENTS * CODES_PER_CLIENT),
                ("refresh", refresh, args.seconds, 100_000),
            ]:
                print(f"{name}: {CLIENTS} clients…", flush=True)
                runs[name] = load(operation, CLIENTS, seconds, cap)
            for session in browsers + apis:
                session.close()
        print("Reference again…", flush=True)
        after, _params = argon2_reference(args.workers, args.reference_seconds)
        version = plat.server_version

    argon2 = before + after
    reference = runs["discovery"]
    labels = {
        "discovery": "reference: GET /.well-known/openid-configuration",
        "credentials": "token endpoint: client credentials (secret stored as SHA-256)",
        "credentials_argon2": "token endpoint: client credentials, old secret still Argon2",
        "authorize": "authorize endpoint: a code (signed-in session, consent skipped)",
        "exchange": "token endpoint: code exchange (secret + PKCE verifier)",
        "refresh": "token endpoint: refresh (secret + rotated refresh token)",
    }
    rows = [
        (
            labels[name],
            f"{run.rate:.1f}/s",
            ms(run.percentile(50)),
            ms(run.percentile(95)),
            f"{run.count} ({len(run.failures)} failed)",
            f"{run.rate / reference.rate:.3f}",
            f"{run.rate / argon2.rate:.2f}",
        )
        for name, run in runs.items()
    ]
    rows.append(
        reference_row(f"{args.workers} threads (one per worker)", before, after, "", "1.00")
    )
    results = table(
        ("Run (16 clients)", "Rate", "p50", "p95", "Done", "vs discovery", "vs Argon2"), rows
    )
    print(results)
    failures = [f for run in runs.values() for f in run.failures]
    for failure in sorted(set(failures))[:5]:
        print(f"  failure: {failure}")

    about = (
        f"{CLIENTS} concurrent clients (threads, loopback) against gunicorn ({args.workers} sync\n"
        "workers) on a throwaway PostgreSQL database; one confidential client registered\n"
        "with `register_client(skip_consent=True)`, scopes `openid email profile\n"
        "organisations`, and one signed-in person per client. Each run lasts at most\n"
        f"{args.seconds:.0f} s (the reference {args.reference_seconds:.0f} s); a client first "
        f"collects up to {CODES_PER_CLIENT} codes\n"
        "(PKCE S256, authorization URL from Authlib), then trades them, then refreshes its\n"
        "tokens in a loop; each answer is checked (ID token present, refresh token rotated).\n\n"
        "The machine client (client credentials) acts for a commune with the scopes\n"
        "`api:read api:write`; its secret is 256 random bits stored as one SHA-256\n"
        "(`mutualis.identity.hashers`), where allauth stored it as a password (Argon2:\n"
        f"{argon2_params}) and each token request\n"
        "verified one Argon2 hash. A second machine client keeps an Argon2 secret, as one\n"
        "registered before the change would until its secret is renewed. The Argon2\n"
        "reference runs before the server starts and after it stops (rate: both runs\n"
        "together; each one in brackets). Code exchange and refresh use the signing-in\n"
        "tool's secret, now SHA-256 too.\n\n"
        f"Server cache: `{cache_backend}`. Target: client credentials and refresh at\n"
        f"least {TARGET} x discovery.\n\n"
        "Lifted for the run, through the server's environment only: the brute-force\n"
        "lock-out (`MUTUALIS_AXES_ENABLED=false`) and allauth's rate limits\n"
        "(`MUTUALIS_RATE_LIMITS_ENABLED=false`), for the 16 logins from 127.0.0.1 that set\n"
        "the run up, and with them the platform's limits on the token endpoint."
    )
    where = table(("Measured on", ""), machine(version))
    path = write_section("token_throughput", f"{about}\n\n{results}\n{where}")
    print(f"Written to {path.relative_to(REPO)}.")
    done = all(runs[name].count for name in runs)
    met = all(runs[name].rate / reference.rate >= TARGET for name in ("credentials", "refresh"))
    print(f"Target (client credentials and refresh >= {TARGET} x discovery): ", end="")
    print("met." if met else "NOT met.")
    few_failures = len(failures) <= sum(r.count for r in runs.values()) // 100
    return 0 if done and few_failures and met else 1


def _cache_backend() -> str:
    from django.conf import settings

    return str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
