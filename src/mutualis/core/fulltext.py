"""Full-text search in French: stored documents, one query language, both databases.

A table searched by its texts (a consultation's title, object, description…) inherits
:class:`Searchable`: two columns written together by :func:`index`, never by hand.

- ``search_vector`` (PostgreSQL): a stored ``tsvector`` built with the text search
  configuration ``mutualis_french`` (``core.0017``: French stemming after ``unaccent``,
  so "travaux", "Travaux" and "TRAVAUX" are one lexeme, and "ecole" finds "école"),
  each part with its weight (A for a title, B, C, D), under a GIN index each table creates
  in its own migration. A stored column, not an index on an expression: measured on this
  machine (``PERFORMANCE.md``), 1.4 ms instead of 30 ms at p95 for typical words.
- ``search_text`` (every database): the same parts folded by ``core.search.fold``; SQLite
  matches each folded word as a substring of it (no stemming there, a demo's few hundred
  rows). PostgreSQL leaves this column to SQLite and to the tests that compare both.

Queries are typed as on a search engine (``websearch_to_tsquery``): words are all
required, ``"a phrase"`` in quotes, ``-word`` excluded, ``or`` between alternatives.
:func:`matching` filters; :func:`by_relevance` orders by ``ts_rank_cd`` with the weights
(a broad query should rather be ordered by date and counted up to a cap: ranking reads
every matching row).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeVar

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, SearchVectorField
from django.db import connections, models
from django.db.models import F, Q, QuerySet, Value

from . import search

CONFIG = "mutualis_french"
# A document is cut at this many characters per part before indexing: PostgreSQL refuses
# a tsvector over 1 MB, and no title or description needs more.
MAX_PART_LENGTH = 100_000

# Control characters (a NUL byte PostgreSQL refuses) are spaces in a query.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Weight = Literal["A", "B", "C", "D"]
M = TypeVar("M", bound=models.Model)


class Searchable(models.Model):
    """The two search columns of a table searched by its texts (see the module)."""

    search_text = models.TextField(default="", editable=False)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        abstract = True


def _on_postgresql(queryset: QuerySet[Any, Any]) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def _parts(document: Mapping[Weight, Iterable[str | None]]) -> list[tuple[Weight, str]]:
    parts: list[tuple[Weight, str]] = []
    weights: tuple[Weight, ...] = ("A", "B", "C", "D")
    for weight in weights:
        text = " ".join(t for t in document.get(weight, ()) if t)
        if text:
            parts.append((weight, text[:MAX_PART_LENGTH]))
    return parts


def index(queryset: QuerySet[M], document: Mapping[Weight, Iterable[str | None]]) -> int:
    """Write the search columns of the rows of ``queryset`` from ``document``: the texts
    of each weight (``{"A": [title], "B": [object, *cpv_labels], "C": [description]}``).

    Call it wherever the texts change, in the same transaction (a service, a bulk path).
    Returns the number of rows written.
    """
    parts = _parts(document)
    folded = " ".join(search.fold(text) for _weight, text in parts)
    values: dict[str, Any] = {"search_text": folded}
    if _on_postgresql(queryset):
        vector: Any = Value("", output_field=SearchVectorField())
        if parts:
            vectors = [
                SearchVector(Value(text), config=CONFIG, weight=weight) for weight, text in parts
            ]
            vector = vectors[0]
            for more in vectors[1:]:
                vector = vector + more
        values["search_vector"] = vector
    return queryset.update(**values)


def query_text(text: str) -> str:
    """The query as it will be read: cut at ``search.MAX_QUERY_LENGTH`` characters,
    stripped; empty when it holds no word."""
    text = _CONTROL.sub(" ", text[: search.MAX_QUERY_LENGTH]).strip()
    return text if search.query_words(text) else ""


def _spelled(text: str) -> str:
    # "st michel" finds "Saint-Michel", as the folded search does (core.search).
    return " ".join(search.spelled_out(word) for word in text.split())


def websearch_text(text: str) -> str:
    """What PostgreSQL's ``websearch_to_tsquery`` is given for the query ``text`` (with
    ``CONFIG``), for SQL written by hand; empty when it holds no word."""
    text = query_text(text)
    return _spelled(text) if text else ""


def matching(queryset: QuerySet[M], text: str) -> QuerySet[M]:
    """The rows whose document matches the query ``text`` (all of them when it holds no
    word)."""
    text = query_text(text)
    if not text:
        return queryset
    if _on_postgresql(queryset):
        query = SearchQuery(_spelled(text), config=CONFIG, search_type="websearch")
        return queryset.filter(search_vector=query)
    # SQLite: every word is required, "-word" excluded; quotes and "or" are not read.
    condition = Q()
    for raw, folded in search.query_words(text.replace('"', " ")):
        if raw.casefold() == "or":
            continue
        if raw.startswith("-"):
            condition &= ~search.contains_folded("search_text", folded)
        else:
            condition &= search.contains_folded("search_text", folded)
    return queryset.filter(condition)


def by_relevance(queryset: QuerySet[M], text: str, *, then: str = "-pk") -> QuerySet[M]:
    """``queryset`` ordered by relevance to ``text`` (best first), then by ``then``.

    On SQLite, which has no ranking, by ``then`` alone."""
    text = query_text(text)
    if not text or not _on_postgresql(queryset):
        return queryset.order_by(then)
    query = SearchQuery(_spelled(text), config=CONFIG, search_type="websearch")
    rank = SearchRank(F("search_vector"), query, cover_density=True)
    ranked: QuerySet[M] = queryset.annotate(search_rank=rank).order_by("-search_rank", then)
    return ranked
