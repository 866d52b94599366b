"""Benchmark: import the whole of France with ``mutualis import_territory``.

Usage: ``DATABASE_URL=postgres://… python bench/import_france.py [--source DIR]``

Creates a throwaway database ``<name>_bench`` next to the one DATABASE_URL names,
migrates it, then in the same run:

1. imports the full Etalab files (34,875 communes, 1,255 EPCI, 101 départements,
   18 régions) as a child process, the way an operator runs it, and measures its wall
   time and peak memory (``ru_maxrss`` of that child alone, from ``os.wait4``);
2. imports them again (every row unchanged);
3. as the reference, COPYs the very rows the import wrote (same columns, and the
   EPCI-département links) into empty tables of the same shape
   (``LIKE … INCLUDING ALL``: same indexes and constraints), with psycopg's
   ``cursor.copy()``: the floor for writing that data to this server.

Prints the figures and the import/COPY ratio, rewrites the ``import_france`` section of
``bench/RESULTS.md``, drops the database, and exits non-zero when a target is missed
(under 15 s and under 500 MB for the first import).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from results import REPO, machine, table, write_section

TARGET_SECONDS = 15.0
TARGET_MB = 500.0
SOURCE_ENV = "MUTUALIS_BENCH_TERRITORY_DIR"
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "decoupage-administratif"
POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql", "postgis")


@dataclass
class Run:
    seconds: float
    peak_mb: float
    output: str


def database_url(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def mutualis_command() -> list[str]:
    script = Path(sys.executable).parent / "mutualis"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mutualis"]


def run_child(args: list[str], url: str) -> Run:
    """Run a ``mutualis`` command; its wall time and the peak RSS of that process alone."""
    env = {**os.environ, "DATABASE_URL": url}
    with tempfile.TemporaryFile(mode="w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen([*mutualis_command(), *args], stdout=out, stderr=out, env=env)
        # wait4, not wait: the resource usage of this child, not of all children so far.
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    if child.returncode != 0:
        raise RuntimeError(f"`mutualis {' '.join(args)}` failed:\n{output}")
    return Run(seconds=seconds, peak_mb=usage.ru_maxrss / 1024, output=output)


def recreate(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate(url: str) -> None:
    """Set Django up on the bench database and migrate it (in this process)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mutualis.settings")
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    connections.close_all()


def copy_reference(url: str) -> tuple[float, int, int]:
    """COPY the rows the import wrote into same-shaped tables: (seconds, rows, links)."""
    from mutualis.core.models import Organisation

    table_name = Organisation._meta.db_table
    links_name = Organisation.departements_spanned.through._meta.db_table
    columns = [f.column for f in Organisation._meta.concrete_fields]
    with psycopg.connect(url) as conn:
        select = sql.SQL("SELECT {} FROM {} ORDER BY id").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table_name)
        )
        rows = conn.execute(select).fetchall()
        links = conn.execute(
            sql.SQL(
                "SELECT id, from_organisation_id, to_organisation_id FROM {} ORDER BY id"
            ).format(sql.Identifier(links_name))
        ).fetchall()
        for copy_name, like in (("bench_copy_org", table_name), ("bench_copy_links", links_name)):
            conn.execute(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
                    sql.Identifier(copy_name), sql.Identifier(like)
                )
            )
        conn.commit()

        started = time.perf_counter()
        with conn.cursor() as cursor:
            statement = sql.SQL("COPY bench_copy_org ({}) FROM STDIN").format(
                sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            with cursor.copy(
                "COPY bench_copy_links (id, from_organisation_id, to_organisation_id) FROM STDIN"
            ) as copy:
                for row in links:
                    copy.write_row(row)
        conn.commit()
        seconds = time.perf_counter() - started
    return seconds, len(rows), len(links)


def count_rows(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return dict(
            conn.execute(
                "SELECT kind, count(*) FROM core_organisation GROUP BY kind ORDER BY kind"
            ).fetchall()
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(os.environ.get(SOURCE_ENV, DEFAULT_SOURCE)),
        help=f"the full Etalab files (default: ${SOURCE_ENV} or {DEFAULT_SOURCE})",
    )
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in POSTGRES_SCHEMES:
        print(
            "bench/import_france.py measures PostgreSQL: set DATABASE_URL to a PostgreSQL "
            "database, e.g. DATABASE_URL=postgres://user:password@localhost:5432/mutualis "
            "(a throwaway <name>_bench database is created next to it and dropped).",
            file=sys.stderr,
        )
        return 2
    source = args.source.resolve()
    if not (source / "communes.json").is_file():
        print(f"No Etalab files in {source}: pass --source or set ${SOURCE_ENV}.", file=sys.stderr)
        return 2

    bench_db = f"{urlsplit(url).path.lstrip('/')}_bench"
    bench_url = database_url(url, bench_db)
    with psycopg.connect(url, autocommit=True) as admin:
        server_version = str(admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        recreate(admin, bench_db)
        try:
            print(f"Migrating a fresh database {bench_db}…", flush=True)
            migrate(bench_url)
            startup = run_child(["import_territory", "--help"], bench_url)
            print("Importing the whole of France…", flush=True)
            first = run_child(["import_territory", "--source", str(source)], bench_url)
            kinds = count_rows(bench_url)
            print("Importing it again (nothing changed)…", flush=True)
            second = run_child(["import_territory", "--source", str(source)], bench_url)
            print("Reference: COPY of the same rows…", flush=True)
            copy_seconds, copied, links = copy_reference(bench_url)
        finally:
            drop(admin, bench_db)

    total = sum(kinds.values())
    if copied != total:
        raise RuntimeError(f"COPY wrote {copied} rows, the import {total}")
    print(first.output)
    rows_label = f"{total:,} organisations + {links:,} EPCI-département links"
    runs = [
        ("first import (all created)", first.seconds, f"{first.peak_mb:.0f} MB"),
        ("re-import (all unchanged)", second.seconds, f"{second.peak_mb:.0f} MB"),
        ("command start-up alone (`--help`)", startup.seconds, f"{startup.peak_mb:.0f} MB"),
        ("reference: COPY of the same rows", copy_seconds, "—"),
    ]
    rows = [
        (name, f"{seconds:.2f} s", peak, f"{seconds / copy_seconds:.1f}x")
        for name, seconds, peak in runs
    ]
    met = first.seconds < TARGET_SECONDS and first.peak_mb < TARGET_MB
    verdict = f"Targets (first import under {TARGET_SECONDS:.0f} s and {TARGET_MB:.0f} MB): " + (
        "met." if met else "**missed**."
    )
    results = table(("Run", "Wall time", "Peak RSS", "vs COPY"), rows)
    print(f"Rows: {rows_label}\n\n{results}\n{verdict}")

    about = (
        "`mutualis import_territory --source <full Etalab 6.0.0 files>` on a freshly\n"
        f"migrated PostgreSQL database: {rows_label}\n"
        f"({', '.join(f'{n:,} {k}' for k, n in kinds.items())}).\n"
        "Each run is a child process, timed from spawn to exit (Django start-up\n"
        "included) with its own peak RSS (`ru_maxrss` from `os.wait4`). The reference\n"
        "COPYs the very rows and links the import wrote into empty tables `LIKE …\n"
        "INCLUDING ALL` (same indexes and constraints, no foreign keys) with psycopg's\n"
        "`cursor.copy()`, in one transaction, rows already in memory."
    )
    where = table(("Measured on", ""), machine(server_version))
    path = write_section("import_france", f"{about}\n\n{results}\n{verdict}\n\n{where}")
    print(f"Written to {path.relative_to(REPO)}.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
