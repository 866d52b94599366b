"""The public search on PostgreSQL, in SQL written here rather than built by the ORM.

The portal's page and the API (``crossings.public_search_page``) are the platform's
busiest reads. Through the ORM, building the two querysets of a search and compiling
them cost 1.1 ms of Python a request, a quarter of the API's, more than PostgreSQL's
own time for most queries (bench/RESULTS.md, "procurement search"). Here the same
conditions are joined as text with their values as parameters (never in the text),
once per request; the text holds no value, only the names of tables and columns
(the models' own) and placeholders (hence the ``noqa: S608``).
:func:`search.apply` stays the definition, for SQLite and every other
reader; ``tests/integration/test_search_sql.py`` runs both over the same rows and
requires the same answers, page after page.

The buyer's slug and name are read after the page is cut (a subquery per row shown):
joined before, PostgreSQL hashed every organisation to sort a few hundred matches.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.db import connection
from psycopg.pq import Format
from psycopg.types.json import Jsonb

from mutualis.core import fulltext
from mutualis.core.models import Organisation

from .models import PUBLIC_STATES, Consultation, State
from .search import (
    SORT_DEADLINE,
    SORT_RELEVANCE,
    ConsultationSearch,
    buyers_in,
    deadline_window,
)

_TABLE = Consultation._meta.db_table
_ORGANISATIONS = Organisation._meta.db_table
_TSQUERY = f"websearch_to_tsquery('{fulltext.CONFIG}'::regconfig, %s)"
_ORDERS = {
    SORT_RELEVANCE: f"ts_rank_cd(c.search_vector, {_TSQUERY}) DESC, c.id DESC",
    SORT_DEADLINE: "c.response_deadline ASC, c.id ASC",
}
_BY_DATE = "c.published_at DESC, c.id DESC"

# A page of 20 consultations carries 80 timestamps. Django loads each through its own
# loader, written in Python (about 3 µs a value; a quarter of a millisecond a request);
# psycopg's default loader (in C with psycopg's binary build: 0.2 µs) gives the same
# aware datetimes when the session's time zone is UTC, as Django sets it (``USE_TZ``).
_TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid


def _load_timestamps_natively(cursor: Any) -> None:
    """Register psycopg's default ``timestamptz`` loader on this cursor only (Django
    checks the connection's loader at every cursor it makes)."""
    if connection.timezone_name == "UTC":
        loader = psycopg.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)
        cursor.cursor.adapters.register_loader(_TIMESTAMPTZ, loader)


def _placeholders(values: Iterable[Any]) -> str:
    return ", ".join("%s" for _value in values)


def _column(name: str) -> str:
    """The SQL of a column of ``crossings.LIST_COLUMNS``: a consultation's own, or its
    buyer's (``organisation__slug``) read by a subquery."""
    if name == "pk":
        return "c.id"
    if name.startswith("organisation__"):
        field = Organisation._meta.get_field(name.removeprefix("organisation__"))
        column = field.column  # type: ignore[union-attr]
        return f'(SELECT o."{column}" FROM {_ORGANISATIONS} o WHERE o.id = c.organisation_id)'  # noqa: S608
    return f'c."{Consultation._meta.get_field(name).column}"'  # type: ignore[union-attr]


@functools.cache
def _selected(columns: tuple[str, ...]) -> tuple[str, tuple[int, ...]]:
    """The SELECT list of ``columns``, and which of them are JSON (they arrive as text,
    Django's loader): the same few tuples of columns on every request."""
    json_columns = tuple(
        i
        for i, name in enumerate(columns)
        if "__" not in name
        and name != "pk"
        and Consultation._meta.get_field(name).get_internal_type() == "JSONField"  # type: ignore[union-attr]
    )
    return ", ".join(_column(name) for name in columns), json_columns


def _conditions(search: ConsultationSearch, now: datetime) -> tuple[str, list[Any]] | None:
    """The WHERE clause of ``search`` over the public consultations, as ``apply`` and
    ``crossings.public_search_page`` define it; None when nothing can match."""
    states = [str(s) for s in PUBLIC_STATES]
    where = [f"NOT c.is_test AND c.parent_id IS NULL AND c.state IN ({_placeholders(states)})"]
    params: list[Any] = list(states)
    text = fulltext.websearch_text(search.text)
    if text:
        where.append(f"c.search_vector @@ {_TSQUERY}")
        params.append(text)
    if search.buyers:
        where.append(
            f"c.organisation_id IN (SELECT o.id FROM {_ORGANISATIONS} o"  # noqa: S608
            f" WHERE o.slug IN ({_placeholders(search.buyers)}))"
        )
        params.extend(search.buyers)
    if search.departements:
        buyers = buyers_in(search.departements)
        if not buyers:
            return None
        where.append(f"c.organisation_id IN ({_placeholders(buyers)})")
        params.extend(buyers)
    if search.cpv:
        # The GIN index of ``cpv_prefixes`` (``search.cpv_condition``).
        where.append("(" + " OR ".join("c.cpv_prefixes @> %s" for _p in search.cpv) + ")")
        params.extend(Jsonb([prefix]) for prefix in search.cpv)
    for column, values in (("procedure", search.procedures), ("category", search.categories)):
        if values:
            where.append(f"c.{column} IN ({_placeholders(values)})")
            params.extend(values)
    # Open is computed from the deadline now, never from the state the job records.
    if search.state == "open":
        # With words, the deadline is compared as an expression (the same instant):
        # PostgreSQL then reads the text index of the published rows (migration 0015)
        # and checks the deadline of each, rather than ANDing the text index with a
        # deadline index, which its statistics wrongly find narrow (8.2 ms against 3.7
        # for ``chaufferie``, bench/RESULTS.md).
        deadline = "c.response_deadline + interval '0 s'" if text else "c.response_deadline"
        where.append(f"({deadline} > %s AND c.state = %s)")
        params.extend([now, str(State.PUBLISHED)])
    elif search.state == "closed":
        where.append("NOT (c.response_deadline > %s AND c.state = %s)")
        params.extend([now, str(State.PUBLISHED)])
    start, end = deadline_window(search)
    if start:
        where.append("c.response_deadline >= %s")
        params.append(start)
    if end:
        where.append("c.response_deadline < %s")
        params.append(end)
    return " AND ".join(where), params


@dataclass
class SqlReader:
    """``search.Reader`` over every member's published consultations, on PostgreSQL."""

    search: ConsultationSearch
    now: datetime
    columns: tuple[str, ...]

    @property
    def ranks(self) -> bool:
        return True

    def __post_init__(self) -> None:
        # The WHERE clause and its values; None when nothing can match.
        self.conditions = _conditions(self.search, self.now)
        self._select, self._json = _selected(self.columns)

    def _order(self, sort: str) -> tuple[str, list[Any]]:
        if sort == SORT_RELEVANCE:
            return _ORDERS[sort], [fulltext.websearch_text(self.search.text)]
        return _ORDERS.get(sort, _BY_DATE), []

    @staticmethod
    def _counting(conditions: tuple[str, list[Any]], cap: int) -> tuple[str, list[Any]]:
        where, params = conditions
        return (
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {_TABLE} c WHERE {where} LIMIT %s) counted",  # noqa: S608
            [*params, cap + 1],
        )

    def _read(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            _load_timestamps_natively(cursor)
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not self._json:
            return [tuple(row) for row in rows]
        return [self._decoded(row) for row in rows]

    def _decoded(self, row: Any) -> tuple[Any, ...]:
        values = list(row)
        for i in self._json:
            if isinstance(values[i], str):
                values[i] = json.loads(values[i])
        return tuple(values)

    def first_page(self, sort: str, cap: int, size: int) -> tuple[list[tuple[Any, ...]], int]:
        if self.conditions is None:
            return [], 0
        where, params = self.conditions
        counting, counting_params = self._counting(self.conditions, cap)
        order, order_params = self._order(sort)
        sql = (
            f"SELECT {self._select}, ({counting}) FROM {_TABLE} c WHERE {where}"  # noqa: S608
            f" ORDER BY {order} LIMIT %s"
        )
        rows = self._read(sql, [*counting_params, *params, *order_params, size])
        return [row[:-1] for row in rows], int(rows[0][-1]) if rows else 0

    def count(self, cap: int) -> int:
        if self.conditions is None:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(*self._counting(self.conditions, cap))
            (counted,) = cursor.fetchone()
        return int(counted)

    def rows(self, sort: str, offset: int, size: int) -> list[tuple[Any, ...]]:
        if self.conditions is None:
            return []
        where, params = self.conditions
        order, order_params = self._order(sort)
        sql = (
            f"SELECT {self._select} FROM {_TABLE} c WHERE {where}"  # noqa: S608
            f" ORDER BY {order} LIMIT %s OFFSET %s"
        )
        return self._read(sql, [*params, *order_params, size, offset])
