"""The bulk files: each day's releases, and all of them, as gzip release packages.

Written by a periodic job (``tasks.write_bulk_files``) into the private file store and
served like any stored file (sendfile, ranges, ETag) from the public page
``/donnees-ouvertes/ocds/``. The package is written as it is read: the releases come from
the database a chunk at a time (``.iterator(chunk_size=…)``) as their stored JSON text
(never parsed and dumped again), into a gzip stream spooled to a temporary file, which
``core.files.store_file`` then stores (type read, SHA-256 measured, fsynced): memory does
not grow with the number of releases, the disk holds the file twice for a moment.

A day's file is written once the day is over (UTC), and never again; the full file is
written again when newer releases exist, replacing the previous one.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from django.db import transaction
from django.db.models import Max, QuerySet, TextField
from django.db.models.functions import Cast, TruncDate
from django.urls import reverse
from django.utils import timezone

from mutualis.core import files
from mutualis.core.files.store import file_storage
from mutualis.core.links import absolute_url

from . import packages
from .models import BULK_OWNER_KIND, BulkFile, BulkKind, Release

logger = logging.getLogger(__name__)

CHUNK_SIZE = 2000
COMPRESS_LEVEL = 6
# A bulk file may be large: the store's default limit (for uploads) does not apply.
MAX_BULK_BYTES = 1 << 40


def release_texts(rows: QuerySet[Release]) -> Iterator[str]:
    """The stored JSON text of each release of ``rows``, in the order stored."""
    texts = (
        rows.order_by("pk")
        .annotate(text=Cast("data", output_field=TextField()))
        .values_list("text", flat=True)
    )
    yield from texts.iterator(chunk_size=CHUNK_SIZE)


def write_package(out: IO[bytes], texts: Iterator[str], *, uri: str, published: datetime) -> int:
    """Write a release package of the releases ``texts`` (each one release's JSON) to
    ``out``, gzip-compressed, as it reads them; the number of releases."""
    head = json.dumps(packages.metadata(uri=uri, published=published), ensure_ascii=False)
    count = 0
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=COMPRESS_LEVEL, mtime=0) as stream:
        stream.write(head[:-1].encode() + b', "releases": [')
        for text in texts:
            if count:
                stream.write(b",\n")
            stream.write(text.encode())
            count += 1
        stream.write(b"]}\n")
    return count


def file_name(kind: str, day: date) -> str:
    if kind == BulkKind.FULL:
        return "ocds-releases-all.json.gz"
    return f"ocds-releases-{day.isoformat()}.json.gz"


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _write(kind: str, day: date, rows: QuerySet[Release], last_id: int) -> BulkFile:
    name = file_name(kind, day)
    uri = absolute_url(reverse("ocds:bulk_files")) + name
    with tempfile.TemporaryFile(prefix="mutualis-ocds-") as spool:
        count = write_package(spool, release_texts(rows), uri=uri, published=timezone.now())
        spool.seek(0)
        with transaction.atomic():
            stored = files.store_file(
                file=spool,
                name=name,
                owner_kind=BULK_OWNER_KIND,
                owner_ref=f"{kind}:{day.isoformat()}",
                allowed_types={"application/gzip", "application/x-gzip"},
                max_size=MAX_BULK_BYTES,
            )
            replaced = None
            if kind == BulkKind.FULL:
                replaced = BulkFile.objects.select_for_update().filter(kind=kind).first()
                if replaced is not None:
                    old = replaced.file
                    replaced.delete()
                    old.delete()
                    key = old.key
                    transaction.on_commit(lambda: _forget(key))
            bulk = BulkFile.objects.create(
                kind=kind, day=day, file=stored, releases=count, last_release_id=last_id
            )
    logger.info("ocds: %s written (%s releases, %s bytes)", name, count, stored.size)
    return bulk


def _forget(key: str) -> None:
    with contextlib.suppress(OSError):
        file_storage().delete(key)


def write_day(day: date) -> BulkFile | None:
    """The file of the releases stored on ``day`` (UTC), unless written already."""
    existing = BulkFile.objects.filter(kind=BulkKind.DAY, day=day).first()
    if existing is not None:
        return existing
    start, end = _day_bounds(day)
    rows = Release.objects.filter(created_at__gte=start, created_at__lt=end)
    last = rows.aggregate(last=Max("pk"))["last"]
    if last is None:
        return None
    return _write(BulkKind.DAY, day, rows, last)


def write_full(today: date) -> BulkFile | None:
    """The file of every release stored before ``today`` (UTC), written again only when
    newer releases exist."""
    start, _end = _day_bounds(today)
    rows = Release.objects.filter(created_at__lt=start)
    last = rows.aggregate(last=Max("pk"))["last"]
    if last is None:
        return None
    existing = BulkFile.objects.filter(kind=BulkKind.FULL).first()
    if existing is not None and existing.last_release_id >= last:
        return existing
    return _write(BulkKind.FULL, today - timedelta(days=1), rows.filter(pk__lte=last), last)


def write_bulk_files(*, now: datetime | None = None) -> int:
    """Every finished day's file still missing, then the full file; the files written."""
    today = (now or timezone.now()).astimezone(UTC).date()
    start, _end = _day_bounds(today)
    written_days = set(BulkFile.objects.filter(kind=BulkKind.DAY).values_list("day", flat=True))
    days = (
        Release.objects.filter(created_at__lt=start)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values_list("day", flat=True)
        .distinct()
        .order_by("day")
    )
    written = 0
    for day in days:
        if day not in written_days and write_day(day) is not None:
            written += 1
    existing = BulkFile.objects.filter(kind=BulkKind.FULL).values_list("pk", flat=True).first()
    full = write_full(today)
    written += full is not None and full.pk != existing
    return written


def listing() -> list[dict[str, Any]]:
    """The files of the public page: the full file first, then the days, newest first."""
    rows = BulkFile.objects.select_related("file").order_by("-kind", "-day")
    return [
        {
            "kind": bulk.kind,
            "day": bulk.day,
            "releases": bulk.releases,
            "size": bulk.file.size,
            "sha256": bulk.file.sha256,
            "url": bulk.file.get_absolute_url(),
            "name": bulk.file.original_name,
        }
        for bulk in rows
    ]
