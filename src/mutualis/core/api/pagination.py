"""Pagination of API lists: pages with a total, and cursors over a change feed.

A **page** suits a list a person or a program reads by number (``page``, ``page_size``,
``total``). A **change feed** suits a program that keeps a copy: it reads every row
modified since its last visit, in the order of modification, ``(updated_at, pk)``, and
keeps the ``next_cursor`` of the last answer for the next visit. Rows modified in the same
instant keep a stable order through the primary key, so that none is skipped or repeated
between two pages.

The cursor is opaque: the position, signed with the site's key (``django.core.signing``),
so that a client cannot forge one, and a tampered one is refused (400, ``invalid_cursor``)
instead of silently restarting the feed.

A row whose transaction commits after a younger row was read can carry an older
``updated_at`` than the cursor already reached (``auto_now`` is set at save, before the
commit): a client that must see every change re-reads from a cursor a little older, a
minute back, and keys its copy on the row's identity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from django.core import signing
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Schema

from . import ApiError

M = TypeVar("M", bound=Model)

CURSOR_SALT = "mutualis.api.cursor"
MAX_CHANGES = 500


class ChangeParams(Schema):
    cursor: str | None = Field(
        None,
        description=(
            "`next_cursor` of the previous answer; without it the feed starts from the"
            " oldest change."
        ),
    )
    limit: int = Field(100, ge=1, le=MAX_CHANGES, description="Rows per answer, at most 500.")


def page_of(qs: QuerySet[M], *, page: int, page_size: int) -> dict[str, Any]:
    """One page of ``qs`` (already ordered) with the total: two queries, one count and
    one page; none for the page beyond the last."""
    total = qs.count()
    start = (page - 1) * page_size
    rows = list(qs[start : start + page_size]) if start < total else []
    return {"total": total, "page": page, "page_size": page_size, "results": rows}


def encode_cursor(row: Model, *, scope: str) -> str:
    # ``scope`` names the feed: a cursor of one feed is refused by another.
    position = [scope, row.updated_at.isoformat(), row.pk]  # type: ignore[attr-defined]
    return signing.dumps(position, salt=CURSOR_SALT, compress=True)


def decode_cursor(cursor: str, *, scope: str) -> tuple[datetime, Any]:
    try:
        feed, moment, pk = signing.loads(cursor, salt=CURSOR_SALT)
        if feed != scope:
            raise ValueError(feed)
        return datetime.fromisoformat(moment), pk
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise ApiError(
            400,
            "invalid_cursor",
            _("This cursor is invalid: use next_cursor as the previous answer gave it."),
            field="cursor",
        ) from exc


def changes_since(qs: QuerySet[M], *, cursor: str | None, limit: int, scope: str) -> dict[str, Any]:
    """Rows of ``qs`` modified after ``cursor``, oldest first, at most ``limit``.

    ``next_cursor`` is the position of the last row given (the cursor received when there
    was none): keep it for the next visit even when ``has_more`` is false. One query.
    """
    qs = qs.order_by("updated_at", "pk")
    if cursor:
        moment, pk = decode_cursor(cursor, scope=scope)
        qs = qs.filter(Q(updated_at__gt=moment) | Q(updated_at=moment, pk__gt=pk))
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {
        "results": rows,
        "has_more": has_more,
        "next_cursor": encode_cursor(rows[-1], scope=scope) if rows else cursor,
    }
