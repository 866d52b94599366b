"""Shared by the benchmarks that load a running platform (login_throughput,
token_throughput, procurement_search, observatory).

- a throwaway PostgreSQL database next to the one ``DATABASE_URL`` names, migrated, with
  the cache table, dropped at the end;
- the platform under gunicorn's sync workers on a free loopback port, as ``bin/demo``
  serves it, configured through environment variables only;
- the same-run reference every login figure is compared to: raw Argon2 with the
  configured hasher's own parameters, on as many threads as the load has clients;
- a bounded load loop (threads, a deadline and a count cap) and its percentiles;
- for the web pages: clients cycling through their requests, each answer checked, and
  the results table against the OpenID discovery document measured in the same run.

Django is set up in the benchmark's own process on the throwaway database, with the
environment the server gets, so that rows made here (users, clients) are what the
server reads.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from psycopg import sql

from results import REPO, table

POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")
BIN = Path(sys.executable).parent
# Generous: on a machine shared with other benchmarks and test runs (load average above
# 15), five workers took more than 30 s to answer their first request.
SERVER_START_SECONDS = 120.0


def require_postgres(script: str) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in POSTGRES_SCHEMES:
        print(
            f"bench/{script} measures a real server on PostgreSQL: set DATABASE_URL, e.g. "
            "DATABASE_URL=postgres://user:password@localhost:5432/mutualis (a throwaway "
            "<name>_bench_… database is created next to it and dropped).",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return url


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _mutualis(*args: str) -> list[str]:
    script = BIN / "mutualis"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "mutualis", *args]


@dataclass
class Platform:
    """The environment shared by this process and the server: one throwaway database,
    one var directory, one signing key."""

    env: dict[str, str]
    server_version: str
    base: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@contextmanager
def bench_platform(admin_url: str, suffix: str, server_env: dict[str, str]) -> Iterator[Platform]:
    """Create and migrate ``<name>_bench_<suffix>``, collect the static files, set
    Django up here on it; drop everything at the end."""
    name = f"{urlsplit(admin_url).path.lstrip('/')}_bench_{suffix}"
    url = _with_database(admin_url, name)
    with (
        psycopg.connect(admin_url, autocommit=True) as admin,
        tempfile.TemporaryDirectory(prefix=f"mutualis-bench-{suffix}-") as var,
    ):
        version = str(admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        env = {
            "DJANGO_SETTINGS_MODULE": "mutualis.settings",
            "DATABASE_URL": url,
            "DEBUG": "false",
            "MUTUALIS_VAR_DIR": var,
            "MUTUALIS_STATIC_ROOT": str(Path(var) / "static"),
            "MUTUALIS_LOG_LEVEL": "WARNING",
            **server_env,
        }
        os.environ.update(env)
        try:
            # The manifest storage serves no page before collectstatic: run it while this
            # process migrates.
            static = subprocess.Popen(
                _mutualis("collectstatic", "--noinput", "-v0"),
                env={**os.environ},
                cwd=REPO,
            )
            import django
            from django.core.management import call_command

            django.setup()
            call_command("migrate", interactive=False, verbosity=0)
            call_command("createcachetable", verbosity=0)
            if static.wait() != 0:
                raise RuntimeError("collectstatic failed")
            from mutualis.identity.oidc import new_private_key_pem

            # The server signs ID tokens with a key of its own, given as its operators do.
            env["MUTUALIS_OIDC_PRIVATE_KEY"] = new_private_key_pem()
            yield Platform(env=env, server_version=version)
        finally:
            from django.db import connections

            connections.close_all()
            admin.execute(drop)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(
    plat: Platform, *, workers: int, app: str = "mutualis.wsgi:application"
) -> Iterator[str]:
    """Serve the platform with gunicorn sync workers on 127.0.0.1; yield its address.
    ``app`` may name a module of bench/ that wraps the platform (bench/zip_app.py)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        str(BIN / "gunicorn"),
        app,
        "--pythonpath",
        str(Path(__file__).resolve().parent),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "60",
        "--log-level",
        "warning",
        # gunicorn 27 opens a control socket at one fixed path per user by default: two
        # servers on the machine (the demo and a benchmark) would fight over it.
        "--no-control-socket",
    ]
    server = subprocess.Popen(command, env={**os.environ, **plat.env}, cwd=REPO)
    # For a benchmark that watches the workers (their memory, their system calls).
    plat.extra["gunicorn_pid"] = str(server.pid)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                raise RuntimeError("gunicorn stopped while starting")
            try:
                # A worker imports most of the application on its first request: slow.
                if requests.get(f"{base}/accounts/login/", timeout=30).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer in time")
            time.sleep(0.2)
        # Each worker loads the application when it starts, but compiles templates and
        # URL patterns on its first requests: warm every worker up before measuring.
        load(lambda _client: requests.get(f"{base}/accounts/login/", timeout=10), 16, 2.0, 64)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- Load ------------------------------------------------------------------------------


@dataclass
class Load:
    """What a load run did: latencies of the successful operations, failures, wall time."""

    latencies: list[float]
    failures: list[str]
    seconds: float

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)

    def __add__(self, other: Load) -> Load:
        """Two runs of the same load as one (a reference measured before and after)."""
        return Load(
            latencies=self.latencies + other.latencies,
            failures=self.failures + other.failures,
            seconds=self.seconds + other.seconds,
        )


class Exhausted(Exception):
    """Raised by an operation whose client has nothing left to do: it stops, unfailed."""


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0 to 100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(p / 100 * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def load(
    operation: Callable[[int], object],
    clients: int,
    seconds: float,
    max_operations: int,
) -> Load:
    """Run ``operation(client_number)`` from ``clients`` threads until ``seconds`` have
    passed or ``max_operations`` were started; an operation that raises is a failure,
    except ``Exhausted``, which ends its client.

    The wall time runs from the start to the end of the last operation, so that the rate
    counts operations that were allowed to finish after the deadline.
    """
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    started = [0]
    begin = time.perf_counter()
    deadline = begin + seconds

    def client(number: int) -> None:
        while time.perf_counter() < deadline:
            with lock:
                if started[0] >= max_operations:
                    return
                started[0] += 1
            t0 = time.perf_counter()
            try:
                operation(number)
            except Exhausted:
                return
            except Exception as exc:  # a failed operation is a figure
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(latencies=latencies, failures=failures, seconds=time.perf_counter() - begin)


# --- The Argon2 reference --------------------------------------------------------------


def argon2_reference(clients: int, seconds: float) -> tuple[Load, str]:
    """Argon2 verifications with the configured hasher (what a login costs the server),
    from ``clients`` threads (argon2-cffi releases the GIL): the load and its parameters."""
    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher()  # the first of PASSWORD_HASHERS, the one that hashes passwords
    if hasher.algorithm != "argon2":
        raise RuntimeError(f"the configured hasher is {hasher.algorithm}, not argon2")
    encoded = hasher.encode("correct horse battery staple", hasher.salt())
    params = hasher.params()
    described = (
        f"argon2id, time cost {params.time_cost}, memory {params.memory_cost // 1024} MiB, "
        f"parallelism {params.parallelism}"
    )

    def verify(_client: int) -> None:
        if not hasher.verify("correct horse battery staple", encoded):
            raise RuntimeError("Argon2 verification failed")

    return load(verify, clients, seconds, 100_000), described


def reference_row(threads: str, before: Load, after: Load, *ratios: str) -> tuple[str, ...]:
    """A table row for an Argon2 reference measured before and after the load."""
    both = before + after
    return (
        f"reference: Argon2 verification, {threads}",
        f"{both.rate:.1f} hashes/s",
        ms(both.percentile(50)),
        ms(both.percentile(95)),
        f"{both.count} ({before.rate:.1f}/s before, {after.rate:.1f}/s after)",
        *ratios,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


# --- Pages under load, against the discovery document -----------------------------------


def cycling_getter(
    sessions: list[requests.Session],
    base: str,
    targets: list[tuple[str, dict[str, str]]],
    expected: str,
) -> Callable[[int], None]:
    """An operation for :func:`load`: GET the next ``(path, query)`` of ``targets``
    (cycled by all clients together, request after request) with the client's own
    session; a status other than 200, or an answer without ``expected``, fails."""
    turn = itertools.cycle(targets)
    lock = threading.Lock()

    def get(client: int) -> None:
        with lock:
            path, query = next(turn)
        response = sessions[client].get(f"{base}{path}", params=query, timeout=60)
        shown = f"{path} {query}" if query else path
        if response.status_code != 200:
            raise RuntimeError(f"{shown}: {response.status_code}")
        if expected not in response.text:
            raise RuntimeError(f"{shown}: {expected!r} not in the answer")

    return get


DISCOVERY = "/.well-known/openid-configuration"
RATE_COLUMNS = ("Request (16 clients)", "Rate", "p50", "p95", "Done", "vs discovery", "Target")


def discovery_reference(
    sessions: list[requests.Session], base: str, clients: int, seconds: float
) -> Load:
    """The same-run reference of the web benches: the OpenID discovery document, a
    request that does no work."""
    getter = cycling_getter(sessions, base, [(DISCOVERY, {})], "token_endpoint")
    return load(getter, clients, seconds, 100_000)


def rate_table(before: Load, after: Load, runs: list[tuple[str, Load, float]]) -> tuple[str, bool]:
    """The results table of runs compared to the discovery document measured before and
    after them (rate: both together), each ``(name, load, target ratio)``; and whether
    every target was met (a failed request misses it)."""
    reference = before + after
    rows = [
        (
            f"reference: GET {DISCOVERY}",
            f"{reference.rate:.0f}/s",
            ms(reference.percentile(50)),
            ms(reference.percentile(95)),
            f"{reference.count} ({before.rate:.0f}/s before, {after.rate:.0f}/s after)",
            "1.00",
            "",
        )
    ]
    met = True
    for name, run, target in runs:
        ratio = run.rate / reference.rate
        ok = ratio >= target and not run.failures
        met = met and ok
        rows.append(
            (
                name,
                f"{run.rate:.0f}/s",
                ms(run.percentile(50)),
                ms(run.percentile(95)),
                f"{run.count} ({len(run.failures)} failed)",
                f"{ratio:.2f}",
                f"≥ {target:.1f}: {'met' if ok else '**missed**'}",
            )
        )
    for failure in sorted({f for _name, run, _target in runs for f in run.failures})[:5]:
        print(f"  failure: {failure}")
    return table(RATE_COLUMNS, rows), met
