"""Closing the sections of a consultation's public deposit log, and the proofs it gives.

At the deadline (the on-time section) or at the opening (the late section), the
section's entries are taken in reception order (``received_at``, ``id``), their receipt
digests (32 bytes each) become the leaves of an RFC 6962 Merkle tree
(``evidence.merkle``), and the root is time-stamped by the platform's authority
(``evidence.timestamps``) and kept as a ``DepositLogRoot``: root, count, time of closing
and token. Closing is idempotent: a section is closed once, the second call returns the
first root (two closers at once meet on the unique constraint; the loser reads the
winner's row).

Nothing is shown before the deadline: the number of bidders stays secret until then, and
the on-time section cannot close earlier. The section closes
``MUTUALIS_DEPOSIT_LOG_CLOSE_DELAY_SECONDS`` after the deadline when the periodic job
does it, so that an acknowledgement received before the deadline and still committing is
in the tree; ``verify_section`` recomputes a closed section from the stored entries, for
the opening, which must refuse to proceed when they differ.

A consultation that received no deposit on time gets an empty tree too (count 0, the
root of no entries, time-stamped): the page then proves that nobody deposited, rather
than leaving the question open.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.evidence import merkle, timestamps

from .models import Deposit, DepositLogEntry, DepositLogRoot, LogSection

logger = logging.getLogger(__name__)
PROOF_FORMAT = "mutualis-merkle-inclusion/1"
CLOSER = audit.SystemActor("deposits.log")


class ProofError(MutualisError):
    code = "deposit_proof_error"


class SectionNotClosable(ProofError):
    code = "deposit_log_section_not_closable"
    message = _("The deposit log is closed only once the deadline for responses has passed.")


class ProofNotAvailable(ProofError):
    code = "deposit_proof_not_available"
    message = _(
        "The inclusion proof is available once the deposit log's section of this deposit "
        "has been closed and published (after the deadline, or at the opening for a late "
        "deposit)."
    )


class LogMismatch(ProofError):
    code = "deposit_log_mismatch"
    message = _(
        "The stored deposit log does not match the published root: the entries were "
        "changed after the section was closed."
    )


def _entries(consultation_id: int, section: str) -> list[DepositLogEntry]:
    return list(
        DepositLogEntry.objects.filter(consultation_id=consultation_id, section=section).order_by(
            "received_at", "id"
        )
    )


def leaves_of(entries: list[DepositLogEntry]) -> list[bytes]:
    """The tree's entries: each receipt digest's 32 bytes (ADR 0008's convention)."""
    return [bytes.fromhex(entry.receipt_digest) for entry in entries]


def root_of(consultation_id: int, section: str) -> DepositLogRoot | None:
    return DepositLogRoot.objects.filter(consultation_id=consultation_id, section=section).first()


def _deadline_passed(consultation: Any, now: datetime) -> bool:
    return bool(now >= consultation.response_deadline)


def close_section(consultation: Any, section: str) -> DepositLogRoot:
    """Close ``section`` of ``consultation``'s log (idempotent): compute the Merkle root of
    its entries in reception order, time-stamp it, keep it. Refused before the deadline
    (either section: the opening never comes earlier)."""
    if section not in LogSection.values:
        raise ValueError(f"Unknown section {section!r}.")
    existing = root_of(consultation.pk, section)
    if existing is not None:
        return existing
    now = timezone.now()
    if not _deadline_passed(consultation, now):
        raise SectionNotClosable
    try:
        with transaction.atomic():
            entries = _entries(consultation.pk, section)
            root = merkle.root(leaves_of(entries))
            token = timestamps.stamp(root)
            closed = DepositLogRoot.objects.create(
                consultation_id=consultation.pk,
                section=section,
                size=len(entries),
                root=root.hex(),
                timestamp_token=token,
                closed_at=now,
            )
            audit.record(
                actor=CLOSER,
                action="deposits.log_section_closed",
                chain=audit.organisation_chain(consultation.organisation_id),
                target=closed,
                payload={
                    "consultation": consultation.pk,
                    "section": section,
                    "size": len(entries),
                    "root": root.hex(),
                },
            )
    except IntegrityError:
        # Another closer won the race: its root is the section's.
        winner = root_of(consultation.pk, section)
        if winner is None:
            raise
        return winner
    return closed


def close_due_sections(*, now: datetime | None = None, limit: int = 200) -> int:
    """The periodic job: close the on-time section of every consultation whose deadline
    passed (by the closing delay) and that has no root yet. Returns how many it closed."""
    from . import crossings

    now = now or timezone.now()
    before = now - timedelta(seconds=settings.MUTUALIS_DEPOSIT_LOG_CLOSE_DELAY_SECONDS)
    closed = 0
    for consultation_id, organisation_id in crossings.consultations_to_close(
        deadline_before=before, limit=limit
    ):
        with scope(organisation=organisation_id):
            from mutualis.procurement.models import Consultation

            consultation = Consultation.objects.filter(pk=consultation_id).first()
            if consultation is None:
                continue
            if root_of(consultation_id, LogSection.ON_TIME) is None:
                try:
                    close_section(consultation, LogSection.ON_TIME)
                except MutualisError:
                    # The authority not set up, or the deadline moved meanwhile: the
                    # others still close; this one is tried again next minute.
                    logger.exception("Deposit log of consultation %s not closed.", consultation_id)
                    continue
                closed += 1
    return closed


def _checked(consultation_id: int, section: str) -> tuple[DepositLogRoot, list[DepositLogEntry]]:
    closed = root_of(consultation_id, section)
    if closed is None:
        raise ProofNotAvailable
    entries = _entries(consultation_id, section)
    if len(entries) != closed.size or merkle.root(leaves_of(entries)).hex() != closed.root:
        raise LogMismatch
    return closed, entries


def verify_section(consultation_id: int, section: str) -> DepositLogRoot:
    """The closed section's root, once the stored entries were checked to give it again;
    raises ``ProofNotAvailable`` when not closed, ``LogMismatch`` when they differ (an
    entry added, removed or changed since, for the opening to refuse)."""
    return _checked(consultation_id, section)[0]


def token_time(closed: DepositLogRoot) -> datetime | None:
    """The time the root's token states (None if it cannot be read)."""
    try:
        info = timestamps.verify(bytes(closed.timestamp_token), bytes.fromhex(closed.root))
    except MutualisError:
        return None
    return info.gen_time


def inclusion_proof(deposit: Deposit) -> dict[str, Any]:
    """What a bidder needs, with its receipt, to check offline that its deposit is in the
    published tree (``scripts/verify_inclusion.py``): leaf index, size, audit path, root
    and the root's token (base64). Only once the deposit's section is closed."""
    entry = DepositLogEntry.objects.filter(deposit_reference=deposit.reference).first()
    if entry is None:
        raise ProofNotAvailable
    closed, entries = _checked(entry.consultation_id, entry.section)
    index = next(i for i, e in enumerate(entries) if e.pk == entry.pk)
    leaves = leaves_of(entries)
    document = merkle.inclusion_document(leaves, index)
    return {
        **document,
        "consultation": entry.consultation_id,
        "deposit": deposit.reference,
        "section": entry.section,
        "received_at": entry.received_at.isoformat(),
        "closed_at": closed.closed_at.isoformat(),
        "root_timestamp_token": base64.b64encode(bytes(closed.timestamp_token)).decode(),
    }
