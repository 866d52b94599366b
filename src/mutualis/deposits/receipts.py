"""The acknowledgement of a deposit: the document, its digest and its RFC 3161 token.

The document is plain JSON (``Deposit.receipt``) whose canonical form (the audit trail's
``canonical_json``: sorted keys, no spaces, UTF-8) anyone can recompute; its SHA-256
(``Deposit.receipt_digest``) is the leaf of the public deposit log and what the
platform's time-stamping authority signs. See docs/adr/0008-sealed-deposits.md.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from mutualis.core.audit.chain import canonical_json
from mutualis.evidence import timestamps

RECEIPT_FORMAT = "mutualis-deposit-receipt/1"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def build_receipt(
    *,
    deposit: Any,
    consultation: Any,
    lot: Any | None,
    company: Any,
    files: list[Any],
    received_at: datetime,
    late: bool,
) -> dict[str, Any]:
    """The acknowledgement document of ``deposit``, received at ``received_at``."""
    return {
        "format": RECEIPT_FORMAT,
        "reference": deposit.reference,
        "consultation": {
            "id": consultation.pk,
            "reference": consultation.reference,
            "title": consultation.title,
            "deadline": iso(consultation.response_deadline),
        },
        "lot": (
            {"id": lot.pk, "number": lot.number, "title": lot.title} if lot is not None else None
        ),
        "phase": str(deposit.phase),
        "company": {"siren": company.siren, "name": company.name},
        "received_at": iso(received_at),
        "late": late,
        "files": [
            {
                "name": f.name,
                "kind": str(f.kind),
                "content_type": f.content_type,
                "plaintext_size": f.plaintext_size,
                "plaintext_sha256": f.plaintext_sha256,
                "ciphertext_size": f.ciphertext_size,
                "ciphertext_sha256": f.ciphertext_sha256,
            }
            for f in files
        ],
    }


def digest_of(receipt: dict[str, Any]) -> str:
    """``Deposit.receipt_digest``: the SHA-256 (hex) of the receipt's canonical JSON."""
    return hashlib.sha256(canonical_json(receipt)).hexdigest()


def stamp(digest: str) -> bytes:
    """The platform TSA's RFC 3161 token over the receipt digest (DER)."""
    return timestamps.stamp(bytes.fromhex(digest))
