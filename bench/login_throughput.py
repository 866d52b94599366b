"""Benchmark: logins with a password and an authenticator code, 16 clients at once.

Usage: ``DATABASE_URL=postgres://… python bench/login_throughput.py [--seconds S]``

On a throwaway PostgreSQL database next to DATABASE_URL's, serves the platform with
gunicorn sync workers on a loopback port and, in the same run:

1. as the reference, verifies an Argon2 hash with the configured hasher (its own
   parameters) from 16 threads: the hashes per second this machine can do;
2. creates users, each with a password hashed by that hasher and an authenticator app
   (TOTP), and a membership whose role needs no other step;
3. 16 clients (threads, one ``requests.Session`` per login, loopback only) each log
   people in as a browser does: GET the login page (CSRF cookie), POST the password,
   follow to the second-factor page, POST the code (pyotp), land on the home page.

Prints logins/s with p50/p95 latency and the ratio to Argon2 verifications/s, rewrites
the ``login_throughput`` section of ``bench/RESULTS.md``, drops the database. A login
verifies one Argon2 hash, so the ratio says how much of the hashing capacity logins get.

The server runs with the brute-force lock-out and allauth's rate limits switched off
through its environment (MUTUALIS_AXES_ENABLED=false, MUTUALIS_RATE_LIMITS_ENABLED=false):
every client comes from 127.0.0.1, which allauth limits to 30 logins a minute.
"""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pyotp
import requests

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
# Each person logs in once: allauth refuses a code already used in its 30-second period.
LOGINS_PER_CLIENT = 24
PASSWORD = "correct horse battery staple"  # noqa: S105  (throwaway bench accounts)
SERVER_ENV = {"MUTUALIS_AXES_ENABLED": "false", "MUTUALIS_RATE_LIMITS_ENABLED": "false"}


def make_people(count: int) -> list[tuple[str, str]]:
    """``count`` people (e-mail, TOTP secret), each a secretary of one commune.

    One Argon2 hash, made by the configured hasher, serves them all: verifying it costs
    the same for each, and hashing hundreds of passwords here would take minutes.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.mfa.utils import encrypt
    from django.contrib.auth.hashers import make_password
    from django_scopes import scopes_disabled

    from mutualis.core.models import Organisation
    from mutualis.identity.models import Membership, Role, User

    encoded = make_password(PASSWORD)
    people = [(f"agent{n:04d}@bench.example.org", pyotp.random_base32()) for n in range(count)]
    users = User.objects.bulk_create(
        [
            User(email=email, password=encoded, first_name="Agent", last_name=str(n))
            for n, (email, _s) in enumerate(people)
        ]
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users]
    )
    Authenticator.objects.bulk_create(
        [
            Authenticator(user=u, type=Authenticator.Type.TOTP, data={"secret": encrypt(secret)})
            for u, (_email, secret) in zip(users, people, strict=True)
        ]
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
    return people


# Codes typed again because the one sent expired in the server's queue (see log_in).
RETYPED: list[str] = []


def log_in(base: str, email: str, secret: str) -> None:
    """One login as a browser does it; raises unless it ends on the home page."""
    with requests.Session() as browser:
        login_url = f"{base}/accounts/login/"
        browser.get(login_url, timeout=30).raise_for_status()
        second_step = browser.post(
            login_url,
            data={
                "login": email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": login_url},
            timeout=30,
        )
        if urlsplit(second_step.url).path != "/accounts/2fa/authenticate/":
            raise RuntimeError(f"password step ended on {second_step.url}")
        totp = pyotp.TOTP(secret)
        # allauth accepts the current 30-second period's code only (MFA_TOTP_TOLERANCE 0):
        # a code sent at the end of a period may reach a busy worker in the next one and
        # be refused. A person then types the new code; so does this client, once.
        for attempt in range(2):
            period = totp.timecode(datetime.now(UTC))
            home = browser.post(
                second_step.url,
                data={"code": totp.now(), "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
                headers={"Referer": second_step.url},
                timeout=30,
            )
            if home.status_code == 200 and urlsplit(home.url).path == "/":
                return
            if attempt or totp.timecode(datetime.now(UTC)) == period:
                break
            RETYPED.append(email)
        raise RuntimeError(f"code step ended on {home.url} ({home.status_code})")


def run_logins(base: str, people: list[tuple[str, str]], seconds: float) -> Load:
    # Each client takes people from its own share: no person logs in twice.
    shares = [people[n::CLIENTS] for n in range(CLIENTS)]
    positions = [0] * CLIENTS
    lock = threading.Lock()

    def one_login(client: int) -> None:
        with lock:
            position = positions[client]
            positions[client] += 1
        if position >= len(shares[client]):
            raise Exhausted()
        email, secret = shares[client][position]
        log_in(base, email, secret)

    return load(one_login, CLIENTS, seconds, len(people))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="length of the login run")
    parser.add_argument("--reference-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn sync workers")
    # bench/run.py hands every benchmark the same arguments: ignore the others' ones.
    args, _others = parser.parse_known_args(argv)
    admin_url = require_postgres("login_throughput.py")

    with bench_platform(admin_url, "login", SERVER_ENV) as plat:
        # The reference runs before and after the load: on a shared machine, a change of
        # the neighbours' load shows as a gap between the two.
        print(
            f"Reference: Argon2 verifications, {CLIENTS} then {args.workers} threads…", flush=True
        )
        before, argon2_params = argon2_reference(CLIENTS, args.reference_seconds)
        before_workers, _params = argon2_reference(args.workers, args.reference_seconds)
        people = make_people(CLIENTS * LOGINS_PER_CLIENT)
        with gunicorn(plat, workers=args.workers) as base:
            print(f"Logging people in from {CLIENTS} clients for {args.seconds:.0f} s…", flush=True)
            logins = run_logins(base, people, args.seconds)
        print("Reference again…", flush=True)
        after, _params = argon2_reference(CLIENTS, args.reference_seconds)
        after_workers, _params = argon2_reference(args.workers, args.reference_seconds)
        version = plat.server_version

    argon2, argon2_workers = before + after, before_workers + after_workers
    rows = [
        (
            "login: login page, password, TOTP code, home page",
            f"{logins.rate:.1f} logins/s",
            ms(logins.percentile(50)),
            ms(logins.percentile(95)),
            f"{logins.count} ({len(logins.failures)} failed, {len(RETYPED)} codes retyped)",
            f"{logins.rate / argon2.rate:.2f}",
            f"{logins.rate / argon2_workers.rate:.2f}",
        ),
        reference_row(f"{CLIENTS} threads", before, after, "1.00", ""),
        reference_row(
            f"{args.workers} threads (one per worker)", before_workers, after_workers, "", "1.00"
        ),
    ]
    results = table(
        (
            "Run",
            "Rate",
            "p50",
            "p95",
            "Done",
            f"vs Argon2, {CLIENTS} threads",
            f"vs Argon2, {args.workers} threads",
        ),
        rows,
    )
    print(results)
    for failure in sorted(set(logins.failures))[:5]:
        print(f"  failure: {failure}")

    about = (
        f"{CLIENTS} concurrent clients (threads, loopback) log people in against gunicorn\n"
        f"({args.workers} sync workers) on a throwaway PostgreSQL database. One login is what\n"
        "a browser does: GET the login page, POST e-mail and password, follow to the\n"
        "second-factor page, POST the authenticator code (pyotp), follow to the home page\n"
        "(5 requests); each person logs in once (allauth refuses a reused code). A code\n"
        "that expired while queued (sent in one 30-second period, checked in the next:\n"
        "allauth's tolerance is 0) is typed again once, as a person would; counted.\n"
        "Passwords are hashed with the configured hasher\n"
        f"({argon2_params}); the reference verifies such a\n"
        f"hash from {CLIENTS} threads, then from {args.workers} (as many hashes at once as "
        "the server can\nrun), in the same run, on the same machine, before the server "
        "starts and after it\nstops (rate: both runs together; each one in brackets). "
        "A login verifies one hash,\nso logins/s ÷ hashes/s is"
        " the share of the hashing capacity that reaches people. Each hash\n"
        "already spreads over the cores (parallelism lanes are threads in argon2-cffi):\n"
        "more hashes at once than cores only adds contention.\n\n"
        "Lifted for the run, through the server's environment only: the brute-force\n"
        "lock-out (`MUTUALIS_AXES_ENABLED=false`) and allauth's rate limits\n"
        "(`MUTUALIS_RATE_LIMITS_ENABLED=false`, a variable added for benchmarks: allauth\n"
        "allows 30 logins a minute per address, and every client here is 127.0.0.1)."
    )
    where = table(("Measured on", ""), machine(version))
    path = write_section("login_throughput", f"{about}\n\n{results}\n{where}")
    print(f"Written to {path.relative_to(REPO)}.")
    # A benchmark whose logins fail measures nothing: say so by the exit status.
    return 0 if logins.count and len(logins.failures) <= logins.count // 100 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
