"""Benchmark: the public directory (API and page) with the whole of France, 16 clients.

Usage: ``DATABASE_URL=postgres://… python bench/directory.py [--seconds S] [--source DIR]``

On a throwaway PostgreSQL database next to DATABASE_URL's, imports the whole of France
(``import_territory``, 36,249 organisations), analyses the table (as autovacuum would
soon after an import), serves the platform with gunicorn sync workers on a loopback port
and, from 16 threads, in the same run:

1. reference: GET ``/.well-known/openid-configuration`` (a request that does no work);
2. the API ``/api/v1/organisations``: its first page, then a text query with a filter;
3. the page ``/organisations/``: its first page, a text query, a département filter;
4. the reference again (rate: both runs together, each one in brackets).

Each answer is checked (status, and the expected organisation in it). Prints requests/s
with p50/p95 and the ratio to the reference, rewrites the ``directory`` section of
``bench/RESULTS.md``, drops the database, and exits non-zero when a target is missed:
the API at least 0.3 x the reference's requests/s, the page at least 0.2 x.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from results import REPO, machine, table, write_section
from serving import Load, bench_platform, gunicorn, load, ms, require_postgres

CLIENTS = 16
WORKERS = 4
API_TARGET = 0.3
PAGE_TARGET = 0.2
SOURCE_ENV = "MUTUALIS_BENCH_TERRITORY_DIR"
SERVER_ENV = {"MUTUALIS_RATE_LIMITS_ENABLED": "false"}
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "decoupage-administratif"

# (name, path, query, a text the answer must contain, target ratio or None)
RUNS: list[tuple[str, str, dict[str, str], str, float | None]] = [
    ("API, first page (50)", "/api/v1/organisations", {}, "Abancourt", API_TARGET),
    (
        "API, text query + kind: `q=st apollinaire&kind=commune`",
        "/api/v1/organisations",
        {"q": "st apollinaire", "kind": "commune"},
        "Saint-Apollinaire",
        API_TARGET,
    ),
    ("page, first page (50)", "/organisations/", {}, "Abancourt", PAGE_TARGET),
    ("page, text query: `q=cote d or`", "/organisations/", {"q": "cote d or"}, "Côte-d",
     PAGE_TARGET),
    (
        "page, département filter: `departement=21`",
        "/organisations/",
        {"departement": "21"},
        "Agencourt",
        PAGE_TARGET,
    ),
]  # fmt: skip


def import_france(source: Path) -> int:
    from django.core.management import call_command
    from django.db import connection

    from mutualis.core.models import Organisation

    call_command("import_territory", source=str(source), verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Organisation.objects.count()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each run")
    parser.add_argument("--reference-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn sync workers")
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(os.environ.get(SOURCE_ENV, DEFAULT_SOURCE)),
        help=f"the full Etalab files (default: ${SOURCE_ENV} or {DEFAULT_SOURCE})",
    )
    # bench/run.py hands every benchmark the same arguments: ignore the others' ones.
    args, _others = parser.parse_known_args(argv)
    admin_url = require_postgres("directory.py")
    source = args.source.resolve()
    if not (source / "communes.json").is_file():
        print(f"No Etalab files in {source}: pass --source or set ${SOURCE_ENV}.", file=sys.stderr)
        return 2

    # The 16 clients all come from 127.0.0.1: the API's per-address limit (300 a minute)
    # would answer 429 to most of them. The server switches it off for the bench only.
    with bench_platform(admin_url, "directory", SERVER_ENV) as plat:
        print("Importing the whole of France…", flush=True)
        organisations = import_france(source)
        with gunicorn(plat, workers=args.workers) as base:
            sessions = [requests.Session() for _n in range(CLIENTS)]

            def getter(path: str, query: dict[str, str], expected: str) -> Callable[[int], None]:
                def get(client: int) -> None:
                    response = sessions[client].get(f"{base}{path}", params=query, timeout=30)
                    if response.status_code != 200:
                        raise RuntimeError(f"{path} {query}: {response.status_code}")
                    if expected not in response.text:
                        raise RuntimeError(f"{path} {query}: {expected!r} not in the answer")

                return get

            discovery = getter("/.well-known/openid-configuration", {}, "token_endpoint")
            # Each worker compiles the templates and URL patterns of a page on its first
            # requests: warm every worker up on every address before measuring.
            for _name, path, query, expected, _target in RUNS:
                load(getter(path, query, expected), CLIENTS, 1.0, 4 * args.workers)
            print(f"reference: discovery document, {CLIENTS} clients…", flush=True)
            before = load(discovery, CLIENTS, args.reference_seconds, 100_000)
            runs: list[tuple[str, Load, float | None]] = []
            for name, path, query, expected, target in RUNS:
                print(f"{name}: {CLIENTS} clients…", flush=True)
                run = load(getter(path, query, expected), CLIENTS, args.seconds, 100_000)
                runs.append((name, run, target))
            print("reference again…", flush=True)
            after = load(discovery, CLIENTS, args.reference_seconds, 100_000)
            for session in sessions:
                session.close()
        version = plat.server_version

    reference = before + after
    rows = [
        (
            "reference: GET /.well-known/openid-configuration",
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
        ok = target is None or (ratio >= target and not run.failures)
        met = met and ok
        rows.append(
            (
                name,
                f"{run.rate:.0f}/s",
                ms(run.percentile(50)),
                ms(run.percentile(95)),
                f"{run.count} ({len(run.failures)} failed)",
                f"{ratio:.2f}",
                f"≥ {target:.1f}: {'met' if ok else '**missed**'}" if target else "",
            )
        )
    results = table(
        ("Request (16 clients)", "Rate", "p50", "p95", "Done", "vs discovery", "Target"), rows
    )
    print(results)
    failures = [f for _name, run, _target in runs for f in run.failures]
    for failure in sorted(set(failures))[:5]:
        print(f"  failure: {failure}")

    about = (
        f"The whole of France imported ({organisations:,} organisations, `import_territory`\n"
        "on the full Etalab files) into a throwaway PostgreSQL database, then `ANALYZE`.\n"
        f"{CLIENTS} concurrent clients (threads, loopback) against gunicorn ({args.workers} sync "
        "workers);\n"
        f"each run lasts {args.seconds:.0f} s, the reference {args.reference_seconds:.0f} s before "
        "the runs and again after them\n"
        "(rate: both together). Every answer is checked: status 200 and an expected name in\n"
        "it. The lists count at most 1,000 rows past the page asked for (the first page\n"
        'says "more than 1,000"; the API\'s `total_is_exact` is false), search a folded\n'
        "name through a trigram index, and read their order from an index.\n"
        "Targets: the API at least 0.3 x the discovery document's rate, the page 0.2 x."
    )
    where = table(("Measured on", ""), machine(version))
    path = write_section("directory", f"{about}\n\n{results}\n{where}")
    print(f"Written to {path.relative_to(REPO)}.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
