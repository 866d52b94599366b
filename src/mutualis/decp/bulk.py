"""The bulk files: the public entries in the official envelope, gzip JSON, in the
private file store and served by its download view (a public owner kind).

Each day the job writes the previous day's file (the entries modified that day, Europe/
Paris) and the full file as of that day. The entries are read in chunks and written one
by one through gzip into a temporary file: memory stays flat whatever their number.
Idempotent: a file of a kind and day already written is kept.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mutualis.core import files as file_store

from . import crossings
from .models import BulkFile, BulkKind

OWNER_KIND = "decp.bulk"
GZIP_TYPES = frozenset({"application/gzip", "application/x-gzip"})
DEFAULT_MAX_BYTES = 8 * 1024**3


def write_envelope(handle: Any, entries: Iterable[dict[str, Any]]) -> int:
    """Write ``{"marches": {"marche": [...]}}`` to a binary ``handle``, entry by entry.
    The number of entries."""
    handle.write(b'{"marches":{"marche":[')
    count = 0
    for entry in entries:
        if count:
            handle.write(b",")
        handle.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode())
        count += 1
    handle.write(b"]}}")
    return count


def file_name(kind: str, day: date) -> str:
    suffix = "" if kind == BulkKind.DAY else "-complet"
    return f"decp-{day.isoformat()}{suffix}.json.gz"


def write_file(kind: str, day: date) -> BulkFile | None:
    """Write the file of ``kind`` for ``day`` unless it exists (None then)."""
    if BulkFile.objects.filter(kind=kind, day=day).exists():
        return None
    entries = crossings.public_data(modified_on=day if kind == BulkKind.DAY else None)
    with tempfile.TemporaryFile() as raw:
        # mtime=0: the same entries give the same bytes (and SHA-256).
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as compressed:
            count = write_envelope(compressed, entries)
        raw.seek(0)
        try:
            with transaction.atomic():
                stored = file_store.store_file(
                    file=raw,
                    name=file_name(kind, day),
                    owner_kind=OWNER_KIND,
                    owner_ref=f"{kind}:{day.isoformat()}",
                    allowed_types=GZIP_TYPES,
                    max_size=getattr(settings, "DECP_BULK_MAX_BYTES", DEFAULT_MAX_BYTES),
                )
                return BulkFile.objects.create(kind=kind, day=day, file=stored, entries=count)
        except IntegrityError:
            return None  # another run wrote it meanwhile


def write_daily(today: date | None = None) -> list[BulkFile]:
    """The job: yesterday's file and the full file as of yesterday."""
    day = (today or timezone.localdate()) - timedelta(days=1)
    written = [write_file(kind, day) for kind in (BulkKind.DAY, BulkKind.FULL)]
    return [f for f in written if f is not None]


def listed(limit: int = 60) -> list[BulkFile]:
    """The latest files for the public page (public facts: no organisation)."""
    return list(BulkFile.objects.select_related("file").order_by("-day", "kind")[:limit])
