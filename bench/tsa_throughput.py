"""Benchmark: RFC 3161 time-stamp tokens per second, through ``POST /tsa`` and through
``evidence.timestamps.stamp()``, against raw signatures with the same key.

Usage: ``DATABASE_URL=postgres://… python bench/tsa_throughput.py [--seconds S]``

On a throwaway PostgreSQL database next to DATABASE_URL's, creates the authority's key
and certificate as ``mutualis setup`` does (P-256), serves the platform with gunicorn
sync workers on a loopback port and, in the same run:

1. reference: GET ``/.well-known/openid-configuration`` from 8 clients (a request that
   does no work);
2. ``POST /tsa`` from 8 clients: a SHA-256 query with a nonce and certReq, as
   ``openssl ts -query -sha256 -cert`` makes it; each reply is checked (granted, nonce
   echoed);
3. in this process, one thread: ``stamp(digest)`` (a register row, the TSTInfo, the
   signed attributes, one ECDSA signature, the SignedData with the certificate);
4. in this process, one thread: the raw ECDSA P-256 signature of 200 bytes with the same
   key, the floor of any token.

Prints tokens/s with p50/p95 and the ratios (HTTP to the reference, ``stamp()`` to the
raw signature), and rewrites the ``tsa_throughput`` section of ``bench/RESULTS.md``.
The server runs with the platform's rate limits off (MUTUALIS_RATE_LIMITS_ENABLED=false:
every request comes from 127.0.0.1). ``stamp()`` runs twice: one commit per token (the
register row's commit waits for the disk), then 20 tokens per transaction, as a token
made inside a deposit's own transaction costs. Target: ``POST /tsa`` at least 0.25 x the
reference request.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys

import requests

from results import REPO, machine, table, write_section
from serving import Load, bench_platform, gunicorn, load, ms, require_postgres

CLIENTS = 8
WORKERS = 2
TARGET = 0.25
BATCH = 20
SERVER_ENV = {"MUTUALIS_RATE_LIMITS_ENABLED": "false"}


def query(nonce: int) -> bytes:
    from asn1crypto import tsp

    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(nonce.to_bytes(8, "big")).digest(),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each run")
    parser.add_argument("--reference-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn sync workers")
    # bench/run.py hands every benchmark the same arguments: ignore the others' ones.
    args, _others = parser.parse_known_args(argv)
    admin_url = require_postgres("tsa_throughput.py")

    with bench_platform(admin_url, "tsa", SERVER_ENV) as plat:
        from mutualis.evidence import authority, timestamps

        # The key and certificate, where the server (same MUTUALIS_VAR_DIR) reads them.
        authority.ensure_authority()
        signer = authority.load()
        with gunicorn(plat, workers=args.workers) as base:
            sessions = [requests.Session() for _n in range(CLIENTS)]

            def discovery(client: int) -> None:
                response = sessions[client].get(
                    f"{base}/.well-known/openid-configuration", timeout=30
                )
                response.raise_for_status()

            def over_http(client: int) -> None:
                nonce = secrets.randbits(63)
                response = sessions[client].post(
                    f"{base}/tsa",
                    data=query(nonce),
                    headers={"Content-Type": "application/timestamp-query"},
                    timeout=30,
                )
                if response.status_code != 200:
                    raise RuntimeError(f"/tsa answered {response.status_code}")
                reply = timestamps.TimeStampResp.load(response.content)
                if reply["status"]["status"].native != "granted":
                    raise RuntimeError(f"/tsa refused: {reply['status'].native}")
                content = reply["time_stamp_token"]["content"]["encap_content_info"]["content"]
                from asn1crypto import tsp

                if tsp.TSTInfo.load(content.contents)["nonce"].native != nonce:
                    raise RuntimeError("nonce not echoed")

            runs: dict[str, Load] = {}
            print(f"reference: {CLIENTS} clients…", flush=True)
            runs["discovery"] = load(discovery, CLIENTS, args.reference_seconds, 100_000)
            print(f"POST /tsa: {CLIENTS} clients…", flush=True)
            runs["http"] = load(over_http, CLIENTS, args.seconds, 100_000)
            for session in sessions:
                session.close()

        def in_process(_client: int) -> None:
            timestamps.stamp(hashlib.sha256(os.urandom(16)).digest())

        def raw(_client: int) -> None:
            signer.sign(os.urandom(200))

        def batched(_client: int) -> None:
            from django.db import transaction

            with transaction.atomic():
                for _n in range(BATCH):
                    timestamps.stamp(hashlib.sha256(os.urandom(16)).digest())

        print("stamp(), in process…", flush=True)
        runs["stamp"] = load(in_process, 1, args.seconds, 1_000_000)
        print(f"stamp(), {BATCH} per transaction…", flush=True)
        batch = load(batched, 1, args.seconds, 1_000_000)
        # Counted in tokens: each operation made BATCH of them.
        runs["batched"] = Load(
            latencies=[t / BATCH for t in batch.latencies for _n in range(BATCH)],
            failures=batch.failures,
            seconds=batch.seconds,
        )
        print("raw signature…", flush=True)
        runs["raw"] = load(raw, 1, args.reference_seconds, 1_000_000)
        from django.db import connection

        connection.close()
        version = plat.server_version

    labels = {
        "discovery": f"reference: GET /.well-known/openid-configuration, {CLIENTS} clients",
        "http": f"POST /tsa (SHA-256, nonce, certReq), {CLIENTS} clients",
        "stamp": "stamp(digest) in process, 1 thread, one commit per token",
        "batched": f"stamp(digest) in process, 1 thread, {BATCH} tokens per commit (per token)",
        "raw": "reference: raw ECDSA P-256 signature, same key, 1 thread",
    }
    rows = [
        (
            labels[name],
            f"{run.rate:.1f}/s",
            ms(run.percentile(50)),
            ms(run.percentile(95)),
            f"{run.count} ({len(run.failures)} failed)",
            f"{run.rate / runs['discovery'].rate:.3f}",
            f"{run.rate / runs['raw'].rate:.3f}",
        )
        for name, run in runs.items()
    ]
    results = table(("Run", "Rate", "p50", "p95", "Done", "vs discovery", "vs raw signature"), rows)
    print(results)
    failures = [f for run in runs.values() for f in run.failures]
    for failure in sorted(set(failures))[:5]:
        print(f"  failure: {failure}")
    about = (
        f"The time-stamping authority (`mutualis.evidence`), P-256 key and self-signed\n"
        f"certificate made by `ensure_authority()` as `mutualis setup` makes them. Over HTTP:\n"
        f"{CLIENTS} concurrent clients (threads, loopback) against gunicorn ({args.workers} sync\n"
        "workers) on a throwaway PostgreSQL database, each reply parsed and its nonce checked;\n"
        "rate limits off for the run (`MUTUALIS_RATE_LIMITS_ENABLED=false`). In process: one\n"
        "thread, `stamp()` writing its register row (the serial number) to the same database.\n"
        "Then the same with 20 tokens per transaction, as inside a deposit's own transaction.\n"
        f"Each run lasts {args.seconds:.0f} s (references {args.reference_seconds:.0f} s). "
        f"Target: POST /tsa at least {TARGET} x\nthe reference request.\n\n"
        "The machine was shared with other sessions during this run: absolute rates vary\n"
        "with the neighbours' load; the ratios to the same-run references vary less."
    )
    where = table(("Measured on", ""), machine(version))
    path = write_section("tsa_throughput", f"{about}\n\n{results}\n{where}")
    print(f"Written to {path.relative_to(REPO)}.")
    met = runs["http"].rate / runs["discovery"].rate >= TARGET
    print(f"Target (POST /tsa >= {TARGET} x discovery): {'met.' if met else 'NOT met.'}")
    done = all(run.count for run in runs.values())
    few_failures = len(failures) <= sum(r.count for r in runs.values()) // 100
    return 0 if done and few_failures and met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
