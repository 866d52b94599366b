"""The public deposit log: one append-only entry per acknowledged deposit.

``append_entry`` writes the entry inside the acknowledgement's transaction. Nothing
serialises the writers of one consultation (no sequence, no lock): 300 deposits in the
last minute append side by side, and the tree's order, (``received_at``, ``id``), is
fixed when the section closes (docs/adr/0008-sealed-deposits.md). The table refuses
UPDATE and DELETE (migration 0003_log_append_only).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from mutualis.core.audit.chain import canonical_json

from .models import Deposit, DepositLogEntry, LogSection

ENTRY_FORMAT = "mutualis-deposit-log-entry/1"


def section_of(deposit: Deposit) -> str:
    return LogSection.LATE if deposit.late else LogSection.ON_TIME


def entry_material(
    *,
    consultation_id: int,
    deposit_reference: str,
    section: str,
    receipt_digest: str,
    received_at: datetime,
) -> dict[str, Any]:
    """The fields an entry's hash covers, as plain JSON values."""
    return {
        "format": ENTRY_FORMAT,
        "consultation": consultation_id,
        "deposit_reference": deposit_reference,
        "section": str(section),
        "receipt_digest": receipt_digest,
        "received_at": received_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }


def entry_hash(entry: DepositLogEntry) -> str:
    """The hash an entry should carry, recomputed from its stored fields."""
    material = entry_material(
        consultation_id=entry.consultation_id,
        deposit_reference=entry.deposit_reference,
        section=entry.section,
        receipt_digest=entry.receipt_digest,
        received_at=entry.received_at,
    )
    return hashlib.sha256(canonical_json(material)).hexdigest()


def append_entry(deposit: Deposit) -> DepositLogEntry:
    """The log entry of an acknowledged deposit (call it inside the transaction that
    acknowledges it)."""
    if not deposit.receipt_digest or deposit.received_at is None:
        raise ValueError("Only an acknowledged deposit goes into the log.")
    entry = DepositLogEntry(
        consultation_id=deposit.consultation_id,
        deposit_reference=deposit.reference,
        section=section_of(deposit),
        receipt_digest=deposit.receipt_digest,
        received_at=deposit.received_at,
    )
    entry.entry_hash = entry_hash(entry)
    entry.save(force_insert=True)
    return entry
