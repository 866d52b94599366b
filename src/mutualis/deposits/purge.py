"""The purge of deposits' files past the retention period (called by
``contracts.retention``, which decides which deposits and when: R2184-12 and -13).

What goes: each file's ciphertext (and the part left by an unfinished upload) and, once
opened, its plaintext in the private file store. What stays: every row, the receipt and
its time-stamp token, the declared and computed SHA-256 of each file, the deposit log and
the audit trail — the proof that a response was received, and what it was, outlives its
content. Each file is marked ``purged_at``; a purged file is never purged again, so the
call is idempotent. One audit event per deposit on its company's chain (the company's
data is what is deleted), and one line in the buyer's own event, which the caller writes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.audit.chain import SystemActor, company_chain
from mutualis.core.files.store import file_storage
from mutualis.core.models import StoredFile

from . import storage
from .models import Deposit, DepositFile, OpenedFile

ACTOR = SystemActor("retention")


def _delete_path(name: str) -> int:
    removed = 0
    for path in (storage.path_of(name), storage.part_path_of(name)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed


def _delete_stored(stored: StoredFile) -> None:
    key = stored.key
    stored.delete()
    # After the commit: a rolled-back purge keeps the bytes its rows still point to.
    transaction.on_commit(lambda: file_storage().delete(key))


def purge_deposit_files(
    *, deposit_ids: Iterable[int], reason: str, now: datetime | None = None
) -> dict[str, Any]:
    """Delete the files of ``deposit_ids`` (any member's: the caller chose them), keep
    every row and hash; counts of what was purged now."""
    now = now or timezone.now()
    counts = {"deposits": 0, "ciphertexts": 0, "plaintexts": 0}
    for deposit in Deposit.for_organisation.filter(pk__in=list(deposit_ids)).order_by("pk"):
        with scope(organisation=deposit.organisation_id), transaction.atomic():
            files = list(
                DepositFile.for_organisation.select_for_update()
                .filter(deposit_id=deposit.pk, purged_at__isnull=True)
                .order_by("pk")
            )
            if not files:
                continue
            plaintexts = 0
            for deposit_file in files:
                # Locked alone: PostgreSQL locks no row of an outer join's nullable side.
                opened = (
                    OpenedFile.objects.select_for_update(of=("self",))
                    .filter(deposit_file=deposit_file)
                    .select_related("stored_file")
                    .first()
                )
                if opened is not None and opened.purged_at is None:
                    stored = opened.stored_file
                    opened.stored_file = None
                    opened.purged_at = now
                    opened.save(update_fields=["stored_file", "purged_at"])
                    if stored is not None:
                        _delete_stored(stored)
                        plaintexts += 1
                deposit_file.purged_at = now
                deposit_file.save(update_fields=["purged_at"])
                name = deposit_file.storage_name
                transaction.on_commit(functools.partial(_delete_path, name))
            audit.record(
                actor=ACTOR,
                action="deposits.files_purged",
                chain=company_chain(deposit.company_id),
                target=deposit,
                payload={
                    "reference": deposit.reference,
                    "reason": reason,
                    "files": len(files),
                    "plaintexts": plaintexts,
                },
            )
            counts["deposits"] += 1
            counts["ciphertexts"] += len(files)
            counts["plaintexts"] += plaintexts
    return counts
