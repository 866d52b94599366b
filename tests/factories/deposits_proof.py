"""Deposit rows for the proof tests (log sections, inclusion proofs, receipt PDFs),
written directly as the deposit services would leave them (docs/adr/0008): an
acknowledged ``Deposit`` with its files, its receipt (canonical JSON), the receipt's
digest and RFC 3161 token, and its ``DepositLogEntry``."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core.audit import canonical_json
from mutualis.deposits.models import (
    Deposit,
    DepositFile,
    DepositLogEntry,
    DepositState,
    LogSection,
    OpeningKey,
)
from mutualis.evidence import authority, timestamps
from mutualis.procurement.models import Consultation

_numbers = itertools.count(1)


def move_deadline(consultation: Any, deadline: datetime) -> Any:
    """Set the consultation's deadline as if it had been published with it (the services
    refuse a deadline in the past)."""
    with scopes_disabled():
        Consultation.objects.filter(pk=consultation.pk).update(response_deadline=deadline)
        consultation.refresh_from_db()
    return consultation


def accept_deposits(consultation: Any, buyer: Any) -> Any:
    """Give the consultation an opening key (as the buyer's browser does at publication):
    it then takes sealed deposits, and has a public log."""
    import pyrage

    with scopes_disabled():
        OpeningKey.objects.create(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            recipient=str(pyrage.x25519.Identity.generate().to_public()),
            threshold=1,
            share_count=1,
            created_by=buyer.user,
        )
    return consultation


def receipt_bytes(deposit: Deposit) -> bytes:
    return canonical_json(deposit.receipt)


def make_deposit(
    consultation: Any,
    representative: Any,
    *,
    received_at: datetime | None = None,
    late: bool | None = None,
    files: tuple[tuple[str, int], ...] = (("offre.pdf", 1234), ("memoire.pdf", 56789)),
    log: bool = True,
) -> Deposit:
    """An acknowledged deposit of ``representative``'s company on ``consultation``, and
    its log entry (unless ``log`` is False)."""
    authority.ensure_authority()
    number = next(_numbers)
    received_at = received_at or timezone.now()
    if late is None:
        late = received_at >= consultation.response_deadline
    reference = f"D-TEST-{number:06d}"
    declared = [
        {
            "name": name,
            "kind": "offer",
            "content_type": "application/pdf",
            "plaintext_size": size,
            "plaintext_sha256": hashlib.sha256(f"{reference}{name}".encode()).hexdigest(),
            "ciphertext_size": size + 200,
            "ciphertext_sha256": hashlib.sha256(f"{reference}{name}age".encode()).hexdigest(),
        }
        for name, size in files
    ]
    receipt = {
        "format": "mutualis-deposit-receipt/1",
        "reference": reference,
        "consultation": {
            "id": consultation.pk,
            "reference": consultation.reference,
            "title": consultation.title,
            "deadline": consultation.response_deadline.isoformat(),
        },
        "lot": None,
        "phase": "offer",
        "company": {"siren": representative.company.siren, "name": representative.company.name},
        "received_at": received_at.isoformat(),
        "late": late,
        "files": declared,
    }
    digest = hashlib.sha256(canonical_json(receipt)).hexdigest()
    with scopes_disabled():
        deposit = Deposit.for_organisation.create(
            reference=reference,
            organisation_id=consultation.organisation_id,
            consultation_id=consultation.pk,
            company_id=representative.company_id,
            user=representative.user,
            state=DepositState.ACKNOWLEDGED,
            idempotency_key=f"key-{number}",
            received_at=received_at,
            late=late,
            receipt=receipt,
            receipt_digest=digest,
            timestamp_token=timestamps.stamp(bytes.fromhex(digest)),
        )
        for position, item in enumerate(declared):
            DepositFile.for_organisation.create(
                deposit=deposit,
                organisation_id=consultation.organisation_id,
                company_id=representative.company_id,
                position=position,
                idempotency_key=f"file-{position}",
                name=item["name"],
                content_type="application/pdf",
                plaintext_size=item["plaintext_size"],
                plaintext_sha256=item["plaintext_sha256"],
                ciphertext_size=item["ciphertext_size"],
                received_size=item["ciphertext_size"],
                ciphertext_sha256=item["ciphertext_sha256"],
                storage_name=f"{consultation.pk}/{reference}/{position}.age",
                completed_at=received_at,
            )
    if log:
        log_entry(deposit)
    return deposit


def log_entry(deposit: Deposit) -> DepositLogEntry:
    section = LogSection.LATE if deposit.late else LogSection.ON_TIME
    assert deposit.received_at is not None
    fields = {
        "consultation": deposit.consultation_id,
        "deposit_reference": deposit.reference,
        "section": str(section),
        "receipt_digest": deposit.receipt_digest,
        "received_at": deposit.received_at.isoformat(),
    }
    return DepositLogEntry.objects.create(
        consultation_id=deposit.consultation_id,
        deposit_reference=deposit.reference,
        section=section,
        receipt_digest=deposit.receipt_digest,
        received_at=deposit.received_at,
        entry_hash=hashlib.sha256(canonical_json(fields)).hexdigest(),
    )


def past(seconds: int = 3600) -> datetime:
    return timezone.now() - timedelta(seconds=seconds)
