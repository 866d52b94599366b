"""The refresh of the observatory's figures (the periodic job ``observatory_refresh``).

One transaction: the facts of every public procedure are written in one statement
(``crossings.write_procedure_facts``), then each group of figures — a member's or the
territory's, per year or over every year, per dimension — in one ``INSERT … SELECT``
each (sums, counts, the mean and, on PostgreSQL, the median in SQL, in one pass; on
SQLite the median comes from window functions); the scratch facts are deleted and the
refresh marked finished.
Readers keep reading the previous refresh until that commit, and then the new one as a
whole: pages read the figures of one refresh id (``selectors.latest_refresh``). The two
latest refreshes are kept, so that a page that began on the older one ends on it.

Two refreshes never interleave: the job may run twice (a retry, a failover), so each
takes a transaction-level advisory lock on PostgreSQL; SQLite has one writer anyway.
"""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.utils import timezone

from . import crossings
from .models import ALL_YEARS, Dimension, Figure, ProcedureFact, Refresh

# Arbitrary but fixed key of the refresh's advisory lock ("observ").
LOCK_KEY = 0x6F6273657276
KEPT_REFRESHES = 2

# The facts' column of each dimension; None: every procedure.
DIMENSION_COLUMNS: dict[str, str | None] = {
    Dimension.ALL: None,
    Dimension.CATEGORY: "category",
    Dimension.PROCEDURE: "procedure",
    Dimension.CPV: "cpv_division",
}

FIGURE_COLUMNS = (
    "refresh_id",
    "organisation_id",
    "year",
    "dimension",
    "value",
    "procedures",
    "awarded",
    "amount_awarded",
    "amount_estimated",
    "wins",
    "wins_sized",
    "wins_sme",
    "wins_located",
    "wins_local",
    "responses_total",
    "responses_known",
    "delays_known",
    "delay_mean",
    "delay_median",
)


def figures_sql(*, per_member: bool, per_year: bool, dimension: str) -> str:
    """The statement that writes one group of figures (parameters: the refresh id, the
    dimension, the refresh id again, and once more for SQLite's median)."""
    column = DIMENSION_COLUMNS[dimension]
    keys = [
        *(["organisation_id"] if per_member else []),
        *(["year"] if per_year else []),
        *([column] if column else []),
    ]
    facts = ProcedureFact._meta.db_table
    selected = "".join(f"f.{key} AS k_{key}, " for key in keys)
    group_by = f" GROUP BY {', '.join(f'f.{key}' for key in keys)}" if keys else ""
    organisation = "a.k_organisation_id" if per_member else "NULL"
    year = "a.k_year" if per_year else str(ALL_YEARS)
    value = f"a.k_{column}" if column else "''"
    postgres = connection.vendor == "postgresql"
    # The median in the same pass on PostgreSQL (an ordered-set aggregate); SQLite has
    # none, so its median is joined from a window over each group's ordered delays.
    median = "percentile_cont(0.5) WITHIN GROUP (ORDER BY f.delay_days)" if postgres else "NULL"
    aggregated = (
        f"SELECT {selected}COUNT(*) AS procedures,"  # noqa: S608 - no input in it
        " SUM(CASE WHEN f.wins > 0 THEN 1 ELSE 0 END) AS awarded,"
        " COALESCE(SUM(f.amount_awarded), 0) AS amount_awarded,"
        " COALESCE(SUM(f.amount_estimated), 0) AS amount_estimated,"
        " SUM(f.wins) AS wins, SUM(f.wins_sized) AS wins_sized, SUM(f.wins_sme) AS wins_sme,"
        " SUM(f.wins_located) AS wins_located, SUM(f.wins_local) AS wins_local,"
        " COALESCE(SUM(f.responses), 0) AS responses_total,"
        " COUNT(f.responses) AS responses_known,"
        " COUNT(f.delay_days) AS delays_known, AVG(f.delay_days) AS delay_mean,"
        f" {median} AS delay_median"
        # Without keys, an empty table still makes one group: none is written.
        f" FROM {facts} f WHERE f.refresh_id = %s{group_by} HAVING COUNT(*) > 0"
    )
    if postgres:
        source, median_column = f"({aggregated}) a", "a.delay_median"
    else:
        partition = f"PARTITION BY {', '.join(f'f.{key}' for key in keys)} " if keys else ""
        joined = " AND ".join(f"m.k_{key} = a.k_{key}" for key in keys) or "1 = 1"
        median_keys = "".join(f"k_{key}, " for key in keys)
        # The middle row, or the mean of the two middle rows, of each group's delays.
        source = (
            f"({aggregated}) a LEFT JOIN (SELECT {median_keys}AVG(d) AS delay_median FROM ("  # noqa: S608
            f" SELECT {selected}f.delay_days AS d,"
            f" ROW_NUMBER() OVER ({partition}ORDER BY f.delay_days) AS n,"
            f" COUNT(*) OVER ({partition.strip()}) AS c"
            f" FROM {facts} f WHERE f.refresh_id = %s AND f.delay_days IS NOT NULL) ordered"
            " WHERE n IN ((c + 1) / 2, (c + 2) / 2)"
            f"{' GROUP BY ' + ', '.join(f'k_{key}' for key in keys) if keys else ''}"
            f") m ON {joined}"
        )
        median_column = "m.delay_median"
    return (
        f"INSERT INTO {Figure._meta.db_table} ({', '.join(FIGURE_COLUMNS)})"  # noqa: S608
        f" SELECT %s, {organisation}, {year}, %s, {value},"
        " a.procedures, a.awarded, a.amount_awarded, a.amount_estimated, a.wins,"
        " a.wins_sized, a.wins_sme, a.wins_located, a.wins_local, a.responses_total,"
        f" a.responses_known, a.delays_known, a.delay_mean, {median_column}"
        f" FROM {source}"
    )


def figures_parameters(refresh_id: int, dimension: str) -> list[int | str]:
    parameters: list[int | str] = [refresh_id, dimension, refresh_id]
    return parameters if connection.vendor == "postgresql" else [*parameters, refresh_id]


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def refresh_figures() -> Refresh:
    """Compute every figure anew from the public records; idempotent (a second run
    computes the same figures under a new refresh)."""
    started = time.monotonic()
    with transaction.atomic(durable=True):
        _lock()
        refresh = Refresh.objects.create(started_at=timezone.now())
        procedures = crossings.write_procedure_facts(refresh_id=refresh.pk)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The table was empty when last analysed: without fresh statistics the
                # planner reads 100,000 rows as a handful and may choose nested loops.
                cursor.execute(f"ANALYZE {ProcedureFact._meta.db_table}")
            for per_member in (True, False):
                for per_year in (True, False):
                    for dimension in DIMENSION_COLUMNS:
                        cursor.execute(
                            figures_sql(
                                per_member=per_member, per_year=per_year, dimension=dimension
                            ),
                            figures_parameters(refresh.pk, str(dimension)),
                        )
        ProcedureFact.objects.filter(refresh=refresh).delete()
        refresh.procedures = procedures
        refresh.finished_at = timezone.now()
        refresh.duration_ms = int((time.monotonic() - started) * 1000)
        refresh.save(update_fields=["procedures", "finished_at", "duration_ms"])
        kept = list(
            Refresh.objects.filter(finished_at__isnull=False)
            .order_by("-pk")
            .values_list("pk", flat=True)[:KEPT_REFRESHES]
        )
        Figure.objects.filter(refresh__lt=min(kept)).delete()
        Refresh.objects.filter(pk__lt=min(kept)).delete()
    return refresh
