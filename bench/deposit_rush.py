"""Benchmark: a deadline rush of sealed deposits, and what proves them.

Usage: ``DATABASE_URL=postgres://… python bench/deposit_rush.py [--deposits N] [--mib M]``
(needs Debian's nginx: ``apt-get install nginx-light``).

On a throwaway PostgreSQL database: a published consultation with an opening key, and
N companies (300 by default), each with an API client of its own. The server set-up of
``docs/operations.md`` ("Sealed deposits"): nginx with request buffering
(``deploy/nginx/mutualis.conf``'s settings) in front of gunicorn's sync workers
(2 x cores + 1). The client runs in its own process (``bench/deposit_client.py``): it
encrypts one file of M MiB (10 by default) per company before anything is timed, then,
one thread per company, all at once:

1. reference: PUT the same bytes, in the same 8 MiB chunks, to a no-op upload route of
   the same server (``bench/deposit_app.py``: the body read and thrown away);
2. the rush: every company deposits its file (start, declare, chunks, complete: the
   acknowledgement with its RFC 3161 token and its log entry).

Then, in this process: the time-stamping authority's tokens per second against raw
signing with the same key, and receipt PDFs (built, signed PAdES-B-T) per second.

Prints and records (``bench/RESULTS.md``, section ``deposit rush``): errors (target 0),
the rush's throughput against the reference's (target at least 0.6 x), p95 of a deposit;
the server's peak memory for a 1 MB and a 2 GB deposit (``bench/deposit_memory.py``:
must not grow with the size).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import requests

from deposit_memory import measure as measure_memory
from results import REPO, machine, table, write_section
from serving import bench_platform, free_port, gunicorn, ms, percentile, require_postgres

SERVER_ENV = {"MUTUALIS_RATE_LIMITS_ENABLED": "false"}
WORKERS = 2 * (os.cpu_count() or 1) + 1
TARGET = 0.6
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """\
worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream mutualis {{ server 127.0.0.1:{upstream}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 17m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_request_buffering on;
        client_body_buffer_size 1m;
        proxy_read_timeout 600s;
        location / {{ proxy_pass http://mutualis; }}
    }}
}}
"""


@contextmanager
def nginx_in_front(upstream: str) -> Iterator[str]:
    port = free_port()
    upstream_port = upstream.rsplit(":", 1)[1]
    with tempfile.TemporaryDirectory(prefix="mutualis-bench-nginx-") as tmp:
        os.chmod(tmp, 0o755)  # noqa: S103 - nginx's workers run as another user
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, upstream=upstream_port))
        server = subprocess.Popen([NGINX, "-p", tmp, "-e", f"{tmp}/error.log", "-c", str(conf)])
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 10
            while True:
                if server.poll() is not None:
                    raise RuntimeError((Path(tmp) / "error.log").read_text())
                try:
                    requests.get(base + "/accounts/login/", timeout=5)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield base
        finally:
            server.send_signal(signal.SIGQUIT)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def prepare(companies: int) -> tuple[int, str, list[tuple[str, str]]]:
    """The consultation (id, recipient) and each company's API client (id, secret)."""
    sys.path.insert(0, str(REPO))
    import pyrage
    from django_scopes import scope
    from tests.factories.companies import company_siren, register_company, verified_person
    from tests.factories.core import OrganisationFactory
    from tests.factories.identity import make_member
    from tests.factories.procurement import make_consultation, subscribe_to_procurement

    from mutualis.core import audit
    from mutualis.deposits.models import OpeningKey
    from mutualis.evidence.authority import ensure_authority
    from mutualis.identity import oidc_clients

    ensure_authority()
    organisation = OrganisationFactory(name="Commune A", slug="commune-a", adhesion_status="member")
    buyer = make_member(organisation, "acheteur@example.org", roles=["org_admin", "buyer"])
    subscribe_to_procurement(organisation)
    consultation = make_consultation(buyer, publish=True)
    identity = pyrage.x25519.Identity.generate()
    with scope(organisation=organisation.pk):
        OpeningKey.objects.create(
            organisation_id=organisation.pk,
            consultation=consultation,
            recipient=str(identity.to_public()),
            threshold=1,
            share_count=1,
            created_by=buyer.user,
        )
    clients = []
    for n in range(companies):
        representative = register_company(
            verified_person(f"rep{n}@example.org"), siren=company_siren(n), name=f"Entreprise {n}"
        )
        client, secret = oidc_clients.register_client(
            actor=audit.SystemActor("bench"),
            name=f"Logiciel {n}",
            scopes=["api:read", "api:write"],
            grant_types=["client_credentials"],
            company_id=representative.company_id,
        )
        clients.append((str(client.pk), secret))
    return consultation.pk, str(identity.to_public()), clients


def tokens_of(base: str, clients: list[tuple[str, str]]) -> list[str]:
    meta = requests.get(f"{base}/.well-known/openid-configuration", timeout=30).json()
    tokens = []
    for client_id, secret in clients:
        response = requests.post(
            base + urlsplit(meta["token_endpoint"]).path,
            data={"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": secret, "scope": "api:read api:write"},
            timeout=30,
        )  # fmt: skip
        response.raise_for_status()
        tokens.append(response.json()["access_token"])
    return tokens


def rate(seconds: float, work: object, *args: object) -> float:
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        work(*args)  # type: ignore[operator]
        done += 1
    return done / (time.perf_counter() - began)


def proof_rates(seconds: float) -> tuple[float, float, float]:
    """TSA tokens/s, raw signatures/s with the same key, receipt PDFs/s (build + PAdES)."""
    from mutualis.core.pdf import text_document
    from mutualis.deposits.receipt_pdf import ensure_signing_key, sign_pdf
    from mutualis.evidence import authority, timestamps

    ensure_signing_key()
    digest = hashlib.sha256(b"receipt").digest()
    tokens = rate(seconds, timestamps.stamp, digest)
    signer = authority.load()
    raw = rate(seconds, signer.sign, b"0" * 200)
    lines = [(f"Fichier {n} : 10 Mio, SHA-256 {'ab' * 32}", False) for n in range(6)]
    receipts = rate(seconds, lambda: sign_pdf(text_document(lines, title="Accusé de réception")))
    return tokens, raw, receipts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deposits", type=int, default=300)
    parser.add_argument("--mib", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0, help="each proof rate's run")
    args, _others = parser.parse_known_args(argv)
    admin_url = require_postgres("deposit_rush.py")
    if not Path(NGINX).exists():
        print("bench/deposit_rush.py needs nginx: apt-get install nginx-light")
        return 2
    with bench_platform(admin_url, "deposits", SERVER_ENV) as plat:
        print(f"Preparing a consultation and {args.deposits} companies…", flush=True)
        consultation, recipient, clients = prepare(args.deposits)
        with tempfile.TemporaryDirectory(prefix="mutualis-bench-deposits-") as deposits_dir:
            plat.env["MUTUALIS_DEPOSIT_DIR"] = deposits_dir
            with (
                gunicorn(plat, workers=WORKERS, app="deposit_app:application") as upstream,
                nginx_in_front(upstream) as base,
            ):
                tokens = tokens_of(base, clients)
                config = Path(deposits_dir) / "client.json"
                result = Path(deposits_dir) / "result.json"
                config.write_text(json.dumps({
                        "base": base, "tokens": tokens, "consultation": consultation,
                        "recipient": recipient, "file_bytes": args.mib * 1024 * 1024,
                    }))  # fmt: skip
                print(f"Client: encrypting, then {args.deposits} uploads at once…", flush=True)
                subprocess.run(
                        [sys.executable, str(Path(__file__).with_name("deposit_client.py")),
                         str(config), str(result)],
                        check=True,
                    )  # fmt: skip
                figures = json.loads(result.read_text())
            print("Peak memory: a 1 MB and a 2 GB deposit, each on a fresh worker…", flush=True)

            @contextmanager
            def one_worker() -> Iterator[tuple[str, int]]:
                with gunicorn(plat, workers=1) as one:
                    yield one, int(plat.extra["gunicorn_pid"])

            memory = measure_memory(
                one_worker, tokens[:2], consultation, recipient, Path(deposits_dir)
            )
        print("Time-stamps and receipts…", flush=True)
        tokens_rate, raw_rate, receipts_rate = proof_rates(args.seconds)
        version = plat.server_version

    megabytes = figures["bytes"] / 1e6
    ref, rush = figures["reference"], figures["deposits"]
    ref_rate, rush_rate = megabytes / ref["wall"], megabytes / rush["wall"]
    ratio = rush_rate / ref_rate
    errors = len(rush["errors"]) + len(ref["errors"])
    met = errors == 0 and ratio >= TARGET
    rows = [
        ("reference: the same bytes to a no-op upload route", f"{ref_rate:.0f} MB/s",
         f"{ref['wall']:.1f} s", ms(percentile(ref["durations"], 95)), str(len(ref["errors"])),
         "1.00", ""),
        (f"{args.deposits} deposits of {args.mib} MiB at once (start, file, chunks, complete)",
         f"{rush_rate:.0f} MB/s", f"{rush['wall']:.1f} s", ms(percentile(rush["durations"], 95)),
         str(len(rush["errors"])), f"{ratio:.2f}",
         f"≥ {TARGET}, 0 errors: {'met' if met else '**missed**'}"),
    ]  # fmt: skip
    proof_rows = [
        ("raw signing with the TSA's key", f"{raw_rate:.0f}/s", "1.00"),
        ("RFC 3161 tokens (evidence.timestamps.stamp)", f"{tokens_rate:.0f}/s",
         f"{tokens_rate / raw_rate:.2f}"),
        ("receipt PDFs built and signed PAdES-B-T", f"{receipts_rate:.1f}/s", ""),
    ]  # fmt: skip
    small, large = memory
    grows = large[1] / small[1]
    memory_rows = [
        (label, f"{peak / 1024:.0f} MiB", f"{high / 1024:.0f} MiB", f"{seconds:.1f} s",
         f"{peak / small[1]:.2f}")
        for label, peak, high, seconds in memory
    ]  # fmt: skip
    memory_met = grows <= 1.1
    body = (
        f"{args.deposits} companies each deposit one file of {args.mib} MiB (age, encrypted by "
        "the client before the timed run), all at once, over loopback, through nginx with "
        f"request buffering in front of gunicorn ({WORKERS} sync workers); the client in its "
        "own process. Reference: the same bytes in the same 8 MiB chunks to a no-op upload "
        "route of the same set-up, in the same run. p95 is one deposit's whole time.\n\n"
        + table(("Run", "Throughput", "Wall", "p95", "Errors", "vs reference", "Target"), rows)
        + "\n\n"
        + table(("In process, one core", "Rate", "vs raw signing"), proof_rows)
        + "\n\nThe server's memory: one gunicorn sync worker, fresh for each deposit, its "
        "resident memory sampled every 20 ms (peak) and its high-water mark (VmHWM) read at "
        "the end; the client streams the ciphertext from a file in 8 MiB chunks. Target: the "
        f"peak does not grow with the deposit's size ({'met' if memory_met else '**missed**'}: "
        f"{grows:.2f} x).\n\n"
        + table(("Deposit", "Peak RSS", "VmHWM", "Time", "vs 1 MB"), memory_rows)
        + "\n\n"
        + table(("Measured on", ""), machine(version))
    )
    if rush["errors"]:
        print("First errors:", *rush["errors"][:5], sep="\n  ")
    print(body)
    write_section("deposit rush", body)
    return 0 if met and memory_met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
