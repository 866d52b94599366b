"""Benchmark: the purchasing observatory — its refresh, and its pages under 16 clients.

Usage: ``DATABASE_URL=postgres://… python bench/observatory.py [--seconds S]``

On a throwaway PostgreSQL database next to DATABASE_URL's, generates with bulk inserts
100,000 published procedures over four years (open, closed and cancelled; 5,000 of them
restricted procedures with their offer phase) of 2,000 buyers in 10 départements, and
40,000 companies with their procurement profile (micro, small, medium-sized, large or
unstated; a département); about 70 % of the closed procedures are awarded, one lot in
five procedures with two, each award with its offer deposit and its letters sent.
Then:

1. refreshes the aggregates twice in this process (``observatory.refresh``), and reports
   each refresh's time (the first on a cold cache);
2. serves the platform with gunicorn sync workers on a loopback port and, from 16
   threads, in the same run: the reference GET ``/.well-known/openid-configuration`` (a
   request that does no work), the territory page ``/observatoire/`` (every year, then
   each year in turn), a member's page ``/observatoire/<slug>/`` (members and years
   cycled), then the reference again.

Each answer is checked (status 200, the figures' tables in it). Prints requests/s with
p50/p95 and the ratio to the reference, rewrites the ``observatory`` section of
``bench/RESULTS.md``, drops the database, and exits non-zero when a target is missed:
each page at least 0.2 x the reference's requests/s.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

import territory
from results import REPO, machine, table, write_section
from serving import (
    bench_platform,
    cycling_getter,
    discovery_reference,
    gunicorn,
    load,
    rate_table,
    require_postgres,
)

CLIENTS = 16
# As production runs the web server (docs/operations.md, "Processes").
WORKERS = 2 * len(os.sched_getaffinity(0)) + 1
PAGE_TARGET = 0.2
PROCEDURES = 100_000
OFFER_PHASES = 5_000
COMPANIES = 40_000
BUYERS = 2_000
SERVER_ENV = {"MUTUALIS_RATE_LIMITS_ENABLED": "false"}
YEARS = 4
# (CPV code, nature) of the generated procedures: 14 CPV divisions.
SUBJECTS = [
    ("45261000", "works"), ("45233140", "works"), ("45316110", "works"),
    ("45331100", "works"), ("71000000", "services"), ("15894000", "supplies"),
    ("39160000", "supplies"), ("34144900", "supplies"), ("30200000", "supplies"),
    ("50720000", "services"), ("90910000", "services"), ("60130000", "services"),
    ("66515000", "services"), ("77310000", "services"), ("90511000", "services"),
    ("33600000", "supplies"), ("09310000", "supplies"), ("79340000", "services"),
]  # fmt: skip
PROCEDURE_KINDS = ["adapted"] * 7 + ["open", "open", "negotiated"]
SIZES = ["micro"] * 3 + ["small"] * 3 + ["medium"] * 2 + ["large", ""]


def generate() -> dict[str, int]:
    """The rows, with bulk inserts; statistics gathered as autovacuum would."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django_scopes import scopes_disabled

    from mutualis.companies.models import Company, CompanyProfile
    from mutualis.contracts.models import Award
    from mutualis.deposits.models import Deposit
    from mutualis.procurement.models import Consultation, Lot

    rng = random.Random(20261207)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    batch = 5_000
    user = get_user_model().objects.create(email="acheteur@bench.example")
    with scopes_disabled():
        departements, buyers = territory.departements_and_communes(BUYERS, batch=batch)
        companies = Company.objects.bulk_create(
            (
                Company(siren=territory.siren(BUYERS + n), name=f"Entreprise {n}")
                for n in range(COMPANIES)
            ),
            batch_size=batch,
        )
        CompanyProfile.objects.bulk_create(
            (
                CompanyProfile(
                    company=company,
                    size=SIZES[n % len(SIZES)],
                    # Two businesses in five outside the ten départements' buyers' own.
                    main_departement=departements[rng.randrange(len(departements))]
                    if n % 10
                    else None,
                )
                for n, company in enumerate(companies)
            ),
            batch_size=batch,
        )

        def procedure(n: int, *, parent: Consultation | None = None) -> Consultation:
            cpv, nature = SUBJECTS[n % len(SUBJECTS)]
            buyer = buyers[n % BUYERS] if parent is None else None
            published = (
                now - timedelta(days=rng.randint(0, 365 * YEARS - 1), minutes=n % 1_440)
                if parent is None
                else parent.published_at + timedelta(days=30)
            )
            kind = rng.random()
            if parent is not None or kind >= 0.15:
                state, deadline = "closed", published + timedelta(days=rng.randint(15, 45))
            elif kind < 0.07:
                state, deadline = "published", now + timedelta(days=rng.randint(1, 60))
            else:
                state, deadline = "cancelled", published + timedelta(days=30)
            if state != "published":
                deadline = min(deadline, now - timedelta(hours=1))
            return Consultation(
                organisation_id=parent.organisation_id if parent else buyer.pk,
                reference=f"2026-{n:06d}" + ("-O" if parent else ""),
                title=f"Procédure {n}",
                object=f"Marché public n° {n}.",
                procedure="restricted" if n < OFFER_PHASES else PROCEDURE_KINDS[n % 10],
                category=nature,
                main_cpv=cpv,
                estimated_value=Decimal(rng.randrange(5_000, 2_000_000, 500)),
                questions_deadline=deadline - timedelta(days=5),
                response_deadline=deadline,
                contact="Service des marchés",
                state=state,
                published_at=published,
                closed_at=deadline if state == "closed" else None,
                cancelled_at=published + timedelta(days=10) if state == "cancelled" else None,
                cancellation_kind="discontinued" if state == "cancelled" else "",
                cancellation_reason="Projet abandonné" if state == "cancelled" else "",
                parent=parent,
            )

        procedures = Consultation.objects.bulk_create(
            (procedure(n) for n in range(PROCEDURES)), batch_size=batch
        )
        phases = Consultation.objects.bulk_create(
            (procedure(n, parent=procedures[n]) for n in range(OFFER_PHASES)), batch_size=batch
        )
        # Awards go to the offer phase of a restricted procedure, else to the procedure.
        awarded = [
            phases[n] if n < OFFER_PHASES else c
            for n, c in enumerate(procedures)
            if c.state == "closed" and rng.random() < 0.7
        ]
        two_lots = {c.pk for c in awarded if rng.random() < 0.2}
        lots = Lot.objects.bulk_create(
            (
                Lot(
                    organisation_id=c.organisation_id,
                    consultation_id=c.pk,
                    number=number,
                    title=f"Lot {number}",
                )
                for c in awarded
                if c.pk in two_lots
                for number in (1, 2)
            ),
            batch_size=batch,
        )
        lots_of: dict[int, list[Lot | None]] = {}
        for lot in lots:
            lots_of.setdefault(lot.consultation_id, []).append(lot)
        decisions = [(c, lot) for c in awarded for lot in lots_of.get(c.pk, [None])]
        winners = [companies[rng.randrange(COMPANIES)] for _decision in decisions]
        offers = Deposit.for_organisation.bulk_create(
            (
                Deposit(
                    organisation_id=c.organisation_id,
                    reference=f"D-{n:08d}",
                    consultation_id=c.pk,
                    lot=lot,
                    company=winner,
                    state="acknowledged",
                    idempotency_key=f"bench-{n}",
                    received_at=c.response_deadline - timedelta(hours=2),
                )
                for n, ((c, lot), winner) in enumerate(zip(decisions, winners, strict=True))
            ),
            batch_size=batch,
        )

        def decision(n: int) -> Award:
            (c, lot), winner, offer = decisions[n], winners[n], offers[n]
            notified = c.response_deadline + timedelta(days=rng.randint(10, 80))
            return Award(
                organisation_id=c.organisation_id,
                consultation_id=c.pk,
                lot=lot,
                outcome="awarded",
                company=winner,
                offer=offer,
                amount=(
                    (c.estimated_value or Decimal(100_000)) * rng.randint(70, 110) / 100
                ).quantize(Decimal("0.01")),
                reasons="Offre économiquement la plus avantageuse.",
                state="contracted" if n % 3 else "notified",
                decided_at=notified - timedelta(days=1),
                decided_by=user,
                notified_at=min(notified, now),
                bidders=rng.randint(1, 9),
            )

        Award.objects.bulk_create((decision(n) for n in range(len(decisions))), batch_size=batch)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return {
        "procedures": PROCEDURES,
        "phases": OFFER_PHASES,
        "awards": len(decisions),
        "companies": COMPANIES,
        "buyers": BUYERS,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each run")
    parser.add_argument("--reference-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn sync workers")
    args, _others = parser.parse_known_args(argv)
    admin_url = require_postgres("observatory.py")

    with bench_platform(admin_url, "observatory", SERVER_ENV) as plat:
        print("Generating 100,000 procedures, their awards and 40,000 companies…", flush=True)
        started = time.monotonic()
        counts = generate()
        generated_in = time.monotonic() - started
        print(f"  done in {generated_in:.0f} s", flush=True)

        from mutualis.observatory.models import Figure
        from mutualis.observatory.refresh import refresh_figures

        refreshes = []
        for _n in range(2):
            t0 = time.monotonic()
            done = refresh_figures()
            refreshes.append(time.monotonic() - t0)
            print(f"  refresh: {done.procedures:,} procedures in {refreshes[-1]:.2f} s", flush=True)
        figures = Figure.objects.filter(refresh=done).count()
        years = sorted(
            Figure.objects.filter(refresh=done, organisation__isnull=True, dimension="all")
            .exclude(year=0)
            .values_list("year", flat=True)
        )
        sessions = [requests.Session() for _n in range(CLIENTS)]
        year_queries = ["", *(f"?year={y}" for y in years)]
        territory_pages = [f"/observatoire/{q}" for q in year_queries]
        # Every 97th member, over every year and each year it has figures for (a member
        # without a procedure in a year answers 404 for it).
        sampled = [f"commune-{n}" for n in range(0, BUYERS, 97)]
        members = [f"/observatoire/{slug}/" for slug in sampled] + [
            f"/observatoire/{slug}/?year={year}"
            for slug, year in Figure.objects.filter(
                refresh=done, organisation__slug__in=sampled, dimension="all"
            )
            .exclude(year=0)
            .order_by("organisation_id", "year")
            .values_list("organisation__slug", "year")
        ]
        runs_spec = [
            ("territory page `/observatoire/` (every year, each year)", territory_pages),
            (f"member page `/observatoire/<slug>/` ({len(members)} pages cycled)", members),
        ]
        # The master imports the application once and forks its workers: on a loaded
        # machine, five workers importing it at once miss the helper's 30 s start-up
        # wait. Requests are served alike.
        plat.env["GUNICORN_CMD_ARGS"] = "--preload"
        with gunicorn(plat, workers=args.workers) as base:

            def getter(paths: list[str]) -> Callable[[int], None]:
                targets = [(path, {}) for path in paths]
                return cycling_getter(sessions, base, targets, 'id="table-years"')

            for _name, paths in runs_spec:
                load(getter(paths), CLIENTS, 1.0, 4 * len(paths))
            print(f"reference: discovery document, {CLIENTS} clients…", flush=True)
            before = discovery_reference(sessions, base, CLIENTS, args.reference_seconds)
            runs = []
            for name, paths in runs_spec:
                print(f"{name}: {CLIENTS} clients…", flush=True)
                runs.append(
                    (name, load(getter(paths), CLIENTS, args.seconds, 100_000), PAGE_TARGET)
                )
            print("reference again…", flush=True)
            after = discovery_reference(sessions, base, CLIENTS, args.reference_seconds)
        for session in sessions:
            session.close()
        version = plat.server_version

    results, met = rate_table(before, after, runs)
    print(results)
    refresh_rows = table(
        ("Refresh of the aggregates (one transaction)", "Time"),
        [
            ("first (cold cache)", f"{refreshes[0]:.2f} s"),
            ("second", f"{refreshes[1]:.2f} s"),
        ],
    )
    about = (
        f"{counts['procedures']:,} published procedures over {YEARS} years (7 % open, 85 %"
        f" closed, 8 % cancelled; {counts['phases']:,} restricted ones with their offer"
        f" phase) of {counts['buyers']:,}\nbuyers in {len(territory.DEPARTEMENTS)} départements,"
        f" {counts['awards']:,} notified awards (with their offer deposits) to"
        f" {counts['companies']:,} companies\nwith their profile (size and département),"
        " generated with bulk inserts into a throwaway PostgreSQL\ndatabase, then"
        f" `VACUUM (ANALYZE)` ({generated_in:.0f} s in all). The refresh writes"
        f" {figures:,} figure rows (every\nmember and the territory, per year and over every"
        " year, by nature, procedure and CPV division)\nin one transaction: one"
        " `INSERT … SELECT` of the procedures' facts, then one per group of figures.\n"
        f"{CLIENTS} concurrent clients (threads, loopback) against gunicorn ({args.workers}"
        f" sync workers, `--preload`); each run\nlasts {args.seconds:.0f} s, the reference"
        f" {args.reference_seconds:.0f} s before and after the runs (rate: both together)."
        " Every answer\nis checked (status 200, its tables in it); no HTTP cache is used"
        " (clients send no `If-None-Match`).\nTarget: each page at least 0.2 x the"
        " discovery document's rate. The machine was shared with\nother sessions' work"
        " (tests, benchmarks) while this ran: compare the ratios (load average below)."
    )
    where = table(("Measured on", ""), machine(version))
    text = f"{about}\n\n{refresh_rows}\n{results}\n{where}"
    path = write_section("observatory", text)
    print(f"Written to {path.relative_to(REPO)}.")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
