"""A deposit's lifecycle, company side: start, add a file, receive its chunks, complete
(acknowledge), withdraw, and the abandonment of deposits left half-sent.

Every state change happens here, audited on the company's chain (``company_chain``).
The server holds ciphertext only (age, to the consultation's opening key); it checks what
it can without a key: sizes, the age header, its own SHA-256 of the ciphertext. See the
"Deposit API" of docs/adr/0008-sealed-deposits.md for the contract the API keeps.

Concurrency: two calls with one ``Idempotency-Key`` meet on a unique constraint (the
second finds the first's row); the chunks of one file are serialised by a row lock on
the file (``select_for_update``); completion locks the deposit. Nothing locks a
consultation: 300 deposits in its last minute go side by side.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from mutualis.companies.models import Company
from mutualis.core import audit
from mutualis.core.audit.chain import SYSTEM, SystemActor, company_chain
from mutualis.core.files.errors import FileNameRequired
from mutualis.core.files.names import sanitise_name
from mutualis.core.files.storage import fsync_path
from mutualis.procurement import crossings as procurement_crossings
from mutualis.procurement.models import State

from . import backup_copies, crossings, errors, log, receipts, signals, storage
from .models import (
    Deposit,
    DepositFile,
    DepositState,
    FileKind,
    OpeningKey,
    OpeningSession,
    Phase,
)

# --- Limits ------------------------------------------------------------------------------

MAX_CHUNK_BYTES = 16 * 1024 * 1024
# How much of a request body is read at a time: never the whole body in memory.
READ_BYTES = 1024 * 1024
MAX_NAME_LENGTH = 255
MAX_FILES = 100
STALE_AFTER = timedelta(hours=24)
IDEMPOTENCY_KEY = re.compile(r"^[\x20-\x7e]{1,100}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

# The age format (https://age-encryption.org/v1): a text header, then the payload: a
# 16-byte nonce and the plaintext in 64 KiB chunks, each followed by a 16-byte tag (one
# chunk, maybe empty, at least). The header's size depends on the recipients' stanzas:
# one X25519 recipient makes about 200 bytes.
AGE_MAGIC = b"age-encryption.org/v1\n"
AGE_NONCE = 16
AGE_CHUNK = 64 * 1024
AGE_TAG = 16
AGE_MIN_HEADER = len(AGE_MAGIC) + len(b"--- ") + 43 + 1
AGE_MAX_HEADER = 8192

# What a consultation accepts (advisory: the browser checks the name before encrypting,
# the server the declared name; the plaintext is checked again at the opening).
ACCEPTED_EXTENSIONS = (
    ".pdf",
    ".p7s",
    ".xml",
    ".odt",
    ".ods",
    ".odp",
    ".odg",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".rtf",
    ".txt",
    ".csv",
    ".jpg",
    ".jpeg",
    ".png",
    ".tif",
    ".tiff",
    ".dwg",
    ".dxf",
    ".zip",
)

# The states in which the buyer's register lists a deposit (it was acknowledged).
REGISTERED_STATES = (DepositState.ACKNOWLEDGED, DepositState.SUPERSEDED, DepositState.WITHDRAWN)


def now() -> datetime:
    """The server's clock: what reception times and the late flag are read from."""
    return timezone.now()


def max_file_bytes() -> int:
    return int(settings.MUTUALIS_DEPOSIT_MAX_FILE_BYTES)


def max_deposit_bytes() -> int:
    return int(settings.MUTUALIS_DEPOSIT_MAX_BYTES)


def age_payload_size(plaintext_size: int) -> int:
    """The size of the age payload (nonce, chunks and their tags) of a plaintext."""
    chunks = max(1, -(-plaintext_size // AGE_CHUNK))
    return AGE_NONCE + plaintext_size + chunks * AGE_TAG


class Readable(Protocol):
    """A request body (``HttpRequest`` reads its stream so), read piece by piece."""

    def read(self, size: int = ..., /) -> bytes: ...


# --- Who deposits ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Depositor:
    """Who acts for the company: one of its representatives (signed in), or an API client
    bound to it (``api_client_id``)."""

    company_id: int
    representative: Any = None
    api_client_id: str = ""

    @property
    def user(self) -> Any:
        return self.representative.user if self.representative is not None else None

    @property
    def audit_actor(self) -> Any:
        if self.representative is not None:
            return self.representative
        return SystemActor(f"api-client:{self.api_client_id}")


def check_idempotency_key(key: str | None) -> str:
    """The key as given, or the error the API answers (400)."""
    if not key:
        raise errors.IdempotencyKeyMissing()
    if not IDEMPOTENCY_KEY.match(key):
        raise errors.IdempotencyKeyInvalid()
    return key


# --- Reading -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConsultationInfo:
    """What a depositing client needs to know of a consultation."""

    consultation: Any
    recipient: str
    lots: list[Any]


def consultation_info(
    consultation_id: int, company_ids: list[int] | None = None
) -> ConsultationInfo:
    """A published consultation that accepts deposits (it has an opening key), or
    ``ConsultationNotOpen``. With ``company_ids``, also the offer phase of a two-phase
    procedure that invites one of them (``procurement.phases``); nobody else sees it."""
    if company_ids is None:
        consultation = procurement_crossings.public_consultation(consultation_id)
    else:
        consultation = procurement_crossings.depositable_consultation(consultation_id, company_ids)
    if consultation is None or consultation.state not in (State.PUBLISHED, State.CLOSED):
        raise errors.ConsultationNotOpen()
    with scope(organisation=consultation.organisation_id):
        key = OpeningKey.objects.filter(consultation_id=consultation.pk).first()
    if key is None:
        raise errors.ConsultationNotOpen()
    return ConsultationInfo(consultation, key.recipient, list(consultation.lots.all()))


def phase_of(consultation: Any) -> str:
    """What a consultation's deposits are: applications on the first consultation of a
    two-phase procedure, offers everywhere else (with the application documents in the
    same deposit, or in the offer phase)."""
    return Phase.APPLICATION if consultation.takes_applications else Phase.OFFER


def takes_deposits(consultation: Any) -> bool:
    """Whether a consultation takes sealed deposits: it has an opening key (a consultation
    answered on paper, or elsewhere, has none)."""
    with scope(organisation=consultation.organisation_id):
        return OpeningKey.objects.filter(consultation_id=consultation.pk).exists()


def _opening_started(consultation: Any) -> bool:
    with scope(organisation=consultation.organisation_id):
        return OpeningSession.objects.filter(consultation_id=consultation.pk).exists()


def deposit_of(company_ids: Iterable[int], reference: str) -> Deposit:
    """The deposit ``reference`` of one of the companies, or ``DepositNotFound``."""
    ids = list(company_ids)
    if not ids or not reference or len(reference) > 32:
        raise errors.DepositNotFound()
    with scope(company=ids):
        deposit = Deposit.for_company.filter(reference=reference).select_related("company").first()
    if deposit is None:
        raise errors.DepositNotFound()
    return deposit


def files_of(deposit: Deposit) -> list[DepositFile]:
    with scope(company=deposit.company_id):
        return list(
            DepositFile.for_company.filter(deposit_id=deposit.pk).order_by("position", "pk")
        )


def file_of(deposit: Deposit, file_id: int) -> DepositFile:
    with scope(company=deposit.company_id):
        found = DepositFile.for_company.filter(deposit_id=deposit.pk, pk=file_id).first()
    if found is None:
        raise errors.DepositNotFound()
    return found


# --- Start -------------------------------------------------------------------------------


def _new_reference(now: datetime) -> str:
    # "D" + the day + 10 random characters of an alphabet without look-alikes.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    tail = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"D{timezone.localtime(now):%Y%m%d}-{tail}"


def _check_depositor(depositor: Depositor) -> None:
    representative = depositor.representative
    if representative is not None and (
        not representative.is_active or representative.company_id != depositor.company_id
    ):
        raise errors.NotRepresentative()


def start_deposit(
    depositor: Depositor,
    *,
    consultation_id: int,
    lot_id: int | None,
    phase: str,
    idempotency_key: str,
    backup_copy_announced: bool = False,
    context: dict[str, Any] | None = None,
) -> tuple[Deposit, bool]:
    """A new deposit (``receiving``), or the one this key already started: (deposit,
    created). A deposit after the deadline is allowed: it will be late. ``phase``
    empty: the consultation's (``phase_of``); another is refused."""
    _check_depositor(depositor)
    check_idempotency_key(idempotency_key)
    company_id = depositor.company_id

    def same_request(existing: Deposit) -> Deposit:
        if (existing.consultation_id, existing.lot_id, existing.phase) != (
            consultation_id,
            lot_id,
            phase or existing.phase,
        ):
            raise errors.IdempotencyKeyReused()
        return existing

    with scope(company=company_id):
        existing = Deposit.for_company.filter(
            company_id=company_id, idempotency_key=idempotency_key
        ).first()
    if existing is not None:
        return same_request(existing), False

    if phase and phase not in Phase.values:
        raise errors.UnknownPhase()
    info = consultation_info(consultation_id, [company_id])
    consultation = info.consultation
    phase = phase or phase_of(consultation)
    if phase != phase_of(consultation):
        if consultation.takes_applications:
            raise errors.ApplicationsOnly()
        raise errors.OffersOnly()
    if _opening_started(consultation):
        raise errors.OpeningStarted()
    lot = None
    if lot_id is not None:
        lot = next((candidate for candidate in info.lots if candidate.pk == lot_id), None)
        if lot is None:
            raise errors.UnknownLot()
    elif info.lots:
        raise errors.LotRequired()

    try:
        with scope(company=company_id), transaction.atomic():
            deposit = Deposit.for_company.create(
                reference=_new_reference(now()),
                organisation_id=consultation.organisation_id,
                consultation_id=consultation.pk,
                lot_id=lot_id,
                company_id=company_id,
                user=depositor.user,
                api_client_id=depositor.api_client_id,
                phase=phase,
                idempotency_key=idempotency_key,
                backup_copy_announced=backup_copy_announced,
            )
            audit.record(
                actor=depositor.audit_actor,
                action="deposits.deposit_started",
                chain=company_chain(company_id),
                target=deposit,
                payload={
                    "reference": deposit.reference,
                    "consultation": consultation.pk,
                    "lot": lot_id,
                    "phase": phase,
                    "api_client": depositor.api_client_id or None,
                    "backup_copy_announced": backup_copy_announced,
                },
                **(context or {}),
            )
    except IntegrityError:
        # Two calls with one key at once: the other one's row is the answer.
        with scope(company=company_id):
            existing = Deposit.for_company.filter(
                company_id=company_id, idempotency_key=idempotency_key
            ).first()
        if existing is None:
            raise
        return same_request(existing), False
    return deposit, True


# --- Files -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FileDeclaration:
    """What the client declares of a file before sending its ciphertext."""

    name: str
    content_type: str
    kind: str
    plaintext_size: int
    plaintext_sha256: str
    ciphertext_size: int


def _clean_declaration(data: FileDeclaration) -> FileDeclaration:
    raw = data.name or ""
    if len(raw) > MAX_NAME_LENGTH or "\x00" in raw:
        raise errors.InvalidFileName()
    try:
        name = sanitise_name(raw)
    except FileNameRequired as exc:
        raise errors.InvalidFileName() from exc
    extension = os.path.splitext(name)[1].lower()
    if extension not in ACCEPTED_EXTENSIONS:
        raise errors.FileTypeRefused()
    if data.kind not in FileKind.values:
        raise errors.UnknownKind()
    content_type = data.content_type or ""
    if len(content_type) > 100 or not re.fullmatch(r"[\x20-\x7e]*", content_type):
        raise errors.InvalidContentType()
    if not 0 < data.plaintext_size <= max_file_bytes():
        raise errors.InvalidSize()
    digest = (data.plaintext_sha256 or "").lower()
    if not SHA256_HEX.match(digest):
        raise errors.InvalidDigest()
    payload = age_payload_size(data.plaintext_size)
    if not payload + AGE_MIN_HEADER <= data.ciphertext_size <= payload + AGE_MAX_HEADER:
        raise errors.CiphertextSizeMismatch()
    return dataclasses.replace(data, name=name, plaintext_sha256=digest, content_type=content_type)


def add_file(
    depositor: Depositor,
    deposit: Deposit,
    data: FileDeclaration,
    *,
    idempotency_key: str,
    context: dict[str, Any] | None = None,
) -> tuple[DepositFile, bool]:
    """Declare a file of a deposit being received: (file, created)."""
    _check_depositor(depositor)
    check_idempotency_key(idempotency_key)
    company_id = deposit.company_id

    def same_request(existing: DepositFile) -> DepositFile:
        declared = (
            existing.name,
            existing.kind,
            existing.plaintext_size,
            existing.plaintext_sha256,
            existing.ciphertext_size,
        )
        cleaned = _clean_declaration(data)
        asked = (
            cleaned.name,
            cleaned.kind,
            cleaned.plaintext_size,
            cleaned.plaintext_sha256,
            cleaned.ciphertext_size,
        )
        if declared != asked:
            raise errors.IdempotencyKeyReused()
        return existing

    with scope(company=company_id):
        existing = DepositFile.for_company.filter(
            deposit_id=deposit.pk, idempotency_key=idempotency_key
        ).first()
    if existing is not None:
        return same_request(existing), False
    cleaned = _clean_declaration(data)
    try:
        with scope(company=company_id), transaction.atomic():
            locked = Deposit.for_company.select_for_update().get(pk=deposit.pk)
            if locked.state != DepositState.RECEIVING:
                raise errors.NotReceiving()
            files = list(DepositFile.for_company.filter(deposit_id=deposit.pk))
            if len(files) >= MAX_FILES:
                raise errors.TooManyFiles(errors.TooManyFiles.message % {"count": MAX_FILES})
            if sum(f.plaintext_size for f in files) + cleaned.plaintext_size > max_deposit_bytes():
                raise errors.DepositTooLarge()
            created = DepositFile.for_company.create(
                deposit=locked,
                organisation_id=locked.organisation_id,
                company_id=company_id,
                position=len(files),
                kind=cleaned.kind,
                idempotency_key=idempotency_key,
                name=cleaned.name,
                content_type=cleaned.content_type,
                plaintext_size=cleaned.plaintext_size,
                plaintext_sha256=cleaned.plaintext_sha256,
                ciphertext_size=cleaned.ciphertext_size,
                storage_name="",
            )
            created.storage_name = storage.storage_name(
                consultation_id=locked.consultation_id,
                reference=locked.reference,
                file_id=created.pk,
            )
            created.save(update_fields=["storage_name"])
            audit.record(
                actor=depositor.audit_actor,
                action="deposits.file_declared",
                chain=company_chain(company_id),
                target=created,
                payload={
                    "reference": locked.reference,
                    "plaintext_size": cleaned.plaintext_size,
                    "plaintext_sha256": cleaned.plaintext_sha256,
                    "ciphertext_size": cleaned.ciphertext_size,
                },
                **(context or {}),
            )
    except IntegrityError:
        with scope(company=company_id):
            existing = DepositFile.for_company.filter(
                deposit_id=deposit.pk, idempotency_key=idempotency_key
            ).first()
        if existing is None:
            raise
        return same_request(existing), False
    return created, True


# --- Chunks ------------------------------------------------------------------------------


def _read_exactly(stream: Readable, length: int) -> Iterable[bytes]:
    """The body's bytes, ``READ_BYTES`` at a time; ``IncompleteBody`` if it ends early."""
    remaining = length
    while remaining:
        block = stream.read(min(READ_BYTES, remaining))
        if not block:
            raise errors.IncompleteBody()
        remaining -= len(block)
        yield block


def _same_bytes(path: Path, offset: int, stream: Readable, length: int) -> bool:
    """Whether the body equals the bytes already stored at ``offset`` (the whole body is
    read either way)."""
    same = True
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        handle = None
    try:
        if handle is not None:
            handle.seek(offset)
        for block in _read_exactly(stream, length):
            if same and (handle is None or handle.read(len(block)) != block):
                same = False
    finally:
        if handle is not None:
            handle.close()
    return same


def _append(path: Path, offset: int, stream: Readable, length: int) -> None:
    """Write the body at ``offset`` (what lay beyond it, left by an interrupted call, is
    cut first) and fsync; on any failure, cut back to ``offset``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.ftruncate(descriptor, offset)
        os.lseek(descriptor, offset, os.SEEK_SET)
        try:
            for block in _read_exactly(stream, length):
                view = memoryview(block)
                while view:
                    written = os.write(descriptor, view)
                    view = view[written:]
            os.fsync(descriptor)
        except BaseException:
            os.ftruncate(descriptor, offset)
            raise
    finally:
        os.close(descriptor)


def receive_chunk(
    depositor: Depositor,
    deposit: Deposit,
    file_id: int,
    *,
    offset: int,
    length: int,
    stream: Readable,
) -> DepositFile:
    """Append ``length`` bytes of ``stream`` to the file at ``offset``, which must be its
    ``received_size``. A chunk sent again with the same bytes at an earlier offset
    changes nothing; any other offset is ``UnexpectedOffset``."""
    _check_depositor(depositor)
    if offset < 0 or not 0 < length <= MAX_CHUNK_BYTES:
        raise errors.InvalidChunk()
    with scope(company=deposit.company_id), transaction.atomic():
        found = (
            DepositFile.for_company.select_for_update()
            .filter(deposit_id=deposit.pk, pk=file_id)
            .select_related("deposit")
            .first()
        )
        if found is None:
            raise errors.DepositNotFound()
        if found.deposit.state != DepositState.RECEIVING:
            raise errors.NotReceiving()
        received = found.received_size
        if offset < received:
            path = (
                storage.path_of(found.storage_name)
                if found.completed_at
                else storage.part_path_of(found.storage_name)
            )
            if offset + length <= received and _same_bytes(path, offset, stream, length):
                return found
            raise errors.UnexpectedOffset(received)
        if offset > received:
            raise errors.UnexpectedOffset(received)
        if offset + length > found.ciphertext_size:
            raise errors.ChunkPastEnd()
        _append(storage.part_path_of(found.storage_name), offset, stream, length)
        found.received_size = offset + length
        found.save(update_fields=["received_size"])
    return found


# --- Completion (the acknowledgement) ----------------------------------------------------


def is_age_header(head: bytes) -> bool:
    """Whether ``head`` (the file's first bytes) starts with an age v1 header with at
    least one X25519 stanza and its MAC line."""
    if not head.startswith(AGE_MAGIC):
        return False
    end = head.find(b"\n---", len(AGE_MAGIC) - 1)
    if end < 0:
        return False
    mac_line_end = head.find(b"\n", end + 1)
    if mac_line_end < 0:
        return False
    mac = head[end + 1 : mac_line_end]
    if not re.fullmatch(rb"--- [A-Za-z0-9+/]{43}", mac):
        return False
    stanzas = head[len(AGE_MAGIC) : end + 1].split(b"\n")
    return any(re.fullmatch(rb"-> X25519 [A-Za-z0-9+/]{43}", line) is not None for line in stanzas)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(READ_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _seal_file(found: DepositFile) -> None:
    """Make a fully received file durable under its final name, after checking its age
    header; record the SHA-256 of its ciphertext. Idempotent (a completion whose
    transaction rolled back may have renamed it already)."""
    final = storage.path_of(found.storage_name)
    part = storage.part_path_of(found.storage_name)
    path = part if part.exists() else final
    with path.open("rb") as handle:
        head = handle.read(AGE_MAX_HEADER)
        size = os.fstat(handle.fileno()).st_size
    if size != found.ciphertext_size:
        raise errors.FilesIncomplete(errors.FilesIncomplete.message % {"names": found.name})
    if not is_age_header(head):
        raise errors.NotAgeCiphertext(errors.NotAgeCiphertext.message % {"name": found.name})
    if path == part:
        descriptor = os.open(part, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(part, final)
        fsync_path(final.parent)
    found.ciphertext_sha256 = _sha256_of(final)


def complete(
    depositor: Depositor, deposit: Deposit, *, context: dict[str, Any] | None = None
) -> Deposit:
    """Acknowledge a deposit whose files have all arrived: files durable, receipt
    time-stamped, log entry, earlier deposit superseded. Completing an acknowledged
    deposit again returns it as it is."""
    _check_depositor(depositor)
    if deposit.state in (DepositState.ACKNOWLEDGED, DepositState.SUPERSEDED):
        return deposit
    if deposit.state != DepositState.RECEIVING:
        raise errors.NotReceiving()
    info = consultation_info(deposit.consultation_id, [deposit.company_id])
    consultation = info.consultation
    if _opening_started(consultation):
        raise errors.OpeningStarted()
    company_id = deposit.company_id
    with scope(company=company_id), transaction.atomic():
        locked = Deposit.for_company.select_for_update().get(pk=deposit.pk)
        if locked.state in (DepositState.ACKNOWLEDGED, DepositState.SUPERSEDED):
            return locked
        if locked.state != DepositState.RECEIVING:
            raise errors.NotReceiving()
        files = list(
            DepositFile.for_company.filter(deposit_id=locked.pk).order_by("position", "pk")
        )
        if not files:
            raise errors.NoFiles()
        missing = [f.name for f in files if f.received_size != f.ciphertext_size]
        if missing:
            raise errors.FilesIncomplete(
                errors.FilesIncomplete.message % {"names": ", ".join(missing)}
            )
        # Every header first: a file that is not age leaves the others as they were.
        for found in files:
            _check_header(found)
        for found in files:
            _seal_file(found)
        received_at = now()
        for found in files:
            found.completed_at = received_at
            found.save(update_fields=["ciphertext_sha256", "completed_at"])
        # At the deadline's second and after, late (``Consultation.is_open``'s rule).
        late = received_at >= consultation.response_deadline
        lot = next((lot for lot in info.lots if lot.pk == locked.lot_id), None)
        receipt = receipts.build_receipt(
            deposit=locked,
            consultation=consultation,
            lot=lot,
            company=Company.objects.get(pk=company_id),
            files=files,
            received_at=received_at,
            late=late,
        )
        digest = receipts.digest_of(receipt)
        locked.state = DepositState.ACKNOWLEDGED
        locked.received_at = received_at
        locked.late = late
        locked.receipt = receipt
        locked.receipt_digest = digest
        locked.timestamp_token = receipts.stamp(digest)
        locked.save(
            update_fields=[
                "state",
                "received_at",
                "late",
                "receipt",
                "receipt_digest",
                "timestamp_token",
            ]
        )
        superseded = _supersede_earlier(locked)
        log.append_entry(locked)
        if locked.backup_copy_announced:
            backup_copies.announce(locked, actor=depositor.audit_actor, at=received_at)
        audit.record(
            actor=depositor.audit_actor,
            action="deposits.deposit_acknowledged",
            chain=company_chain(company_id),
            target=locked,
            payload={
                "reference": locked.reference,
                "receipt_digest": digest,
                "late": late,
                "files": len(files),
                "superseded": superseded,
            },
            **(context or {}),
        )
        signals.send_on_commit(signals.deposit_acknowledged, deposit_id=locked.pk)
    return locked


def _check_header(found: DepositFile) -> None:
    part = storage.part_path_of(found.storage_name)
    path = part if part.exists() else storage.path_of(found.storage_name)
    try:
        with path.open("rb") as handle:
            head = handle.read(AGE_MAX_HEADER)
    except FileNotFoundError as exc:
        raise errors.FilesIncomplete(
            errors.FilesIncomplete.message % {"names": found.name}
        ) from exc
    if not is_age_header(head):
        raise errors.NotAgeCiphertext(errors.NotAgeCiphertext.message % {"name": found.name})


def _supersede_earlier(deposit: Deposit) -> list[str]:
    """Mark superseded the company's earlier acknowledged deposits on the same
    consultation, lot and phase (kept, never deleted). A late deposit does not replace an
    on-time one: the law keeps the on-time response, the late one is only kept apart."""
    earlier = (
        Deposit.for_company.select_for_update()
        .filter(
            company_id=deposit.company_id,
            consultation_id=deposit.consultation_id,
            phase=deposit.phase,
            state=DepositState.ACKNOWLEDGED,
        )
        .filter(Q(lot_id=deposit.lot_id) if deposit.lot_id else Q(lot__isnull=True))
        .exclude(pk=deposit.pk)
    )
    if deposit.late:
        earlier = earlier.filter(late=True)
    references = []
    for row in earlier:
        row.state = DepositState.SUPERSEDED
        row.superseded_by = deposit
        row.save(update_fields=["state", "superseded_by"])
        references.append(row.reference)
    return references


# --- Withdrawal and abandonment ----------------------------------------------------------


def _part_paths(deposit: Deposit) -> list[Path]:
    """The partial files of a deposit (inside the company's scope)."""
    return [
        storage.part_path_of(found.storage_name)
        for found in DepositFile.for_company.filter(deposit_id=deposit.pk)
        if found.storage_name
    ]


def _delete(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def withdraw(
    depositor: Depositor, deposit: Deposit, *, context: dict[str, Any] | None = None
) -> Deposit:
    """Withdraw a deposit before the deadline (kept, marked withdrawn). Withdrawing a
    withdrawn deposit again changes nothing."""
    _check_depositor(depositor)
    if deposit.state == DepositState.WITHDRAWN:
        return deposit
    info = consultation_info(deposit.consultation_id, [deposit.company_id])
    moment = now()
    if moment >= info.consultation.response_deadline:
        raise errors.DeadlinePassed()
    with scope(company=deposit.company_id), transaction.atomic():
        locked = Deposit.for_company.select_for_update().get(pk=deposit.pk)
        if locked.state == DepositState.WITHDRAWN:
            return locked
        if locked.state not in (DepositState.RECEIVING, DepositState.ACKNOWLEDGED):
            raise errors.NotWithdrawable()
        was_acknowledged = locked.state == DepositState.ACKNOWLEDGED
        locked.state = DepositState.WITHDRAWN
        locked.withdrawn_at = moment
        locked.save(update_fields=["state", "withdrawn_at"])
        audit.record(
            actor=depositor.audit_actor,
            action="deposits.deposit_withdrawn",
            chain=company_chain(deposit.company_id),
            target=locked,
            payload={"reference": locked.reference, "was_acknowledged": was_acknowledged},
            **(context or {}),
        )
        parts = [] if was_acknowledged else _part_paths(locked)
        if was_acknowledged:
            signals.send_on_commit(signals.deposit_withdrawn, deposit_id=locked.pk)
    _delete(parts)
    return locked


def abandon_stale_deposits(*, at: datetime | None = None) -> int:
    """Mark ``abandoned`` the deposits left ``receiving`` for more than 24 hours and
    delete their partial files; the number abandoned. Idempotent (the periodic job)."""
    cutoff = (at or now()) - STALE_AFTER
    count = 0
    for deposit_id, company_id in crossings.deposits_receiving_since(cutoff):
        with scope(company=company_id), transaction.atomic():
            locked = (
                Deposit.for_company.select_for_update()
                .filter(pk=deposit_id, state=DepositState.RECEIVING, started_at__lt=cutoff)
                .first()
            )
            if locked is None:
                continue
            locked.state = DepositState.ABANDONED
            locked.save(update_fields=["state"])
            audit.record(
                actor=SYSTEM,
                action="deposits.deposit_abandoned",
                chain=company_chain(company_id),
                target=locked,
                payload={"reference": locked.reference},
            )
            parts = _part_paths(locked)
        _delete(parts)
        count += 1
    return count


# --- The buyer's deposit register --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RegisterLine:
    """An acknowledged deposit as the buyer sees it before the opening: who, when, which
    files (names, sizes, hashes), never what they say."""

    deposit: Deposit
    files: list[DepositFile]

    @property
    def total_ciphertext_size(self) -> int:
        return sum(f.ciphertext_size for f in self.files)


def register_visible(consultation: Any, *, at: datetime | None = None) -> bool:
    """The register shows who deposited only once the deadline has passed: until then
    nobody, at the buyer's either, may learn who answers (nor how many)."""
    return bool((at or now()) >= consultation.response_deadline)


def register_of(*, organisation_id: int, consultation_id: int) -> list[RegisterLine]:
    """The consultation's acknowledged deposits (on time first, then late; each in
    reception order), superseded and withdrawn ones included and marked."""
    with scope(organisation=organisation_id):
        deposits = list(
            Deposit.for_organisation.filter(
                organisation_id=organisation_id,
                consultation_id=consultation_id,
                state__in=REGISTERED_STATES,
                received_at__isnull=False,
            )
            .select_related("company", "lot")
            .order_by("late", "received_at", "pk")
        )
        files: dict[int, list[DepositFile]] = {d.pk: [] for d in deposits}
        for found in DepositFile.for_organisation.filter(
            organisation_id=organisation_id, deposit_id__in=list(files)
        ).order_by("position", "pk"):
            files[found.deposit_id].append(found)
    return [RegisterLine(deposit, files[deposit.pk]) for deposit in deposits]


def register_csv(lines: Iterable[RegisterLine]) -> str:
    """The register as CSV (UTF-8 with its byte-order mark), one row per file, every
    cell neutralised against formulas; times in Paris."""
    import csv
    import io

    from django.utils.translation import gettext as _

    from mutualis.procurement.downloaders import csv_cell

    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Deposit"),
            _("Company"),
            _("SIREN"),
            _("Lot"),
            _("Phase"),
            _("Received on"),
            _("Late"),
            _("State"),
            _("File"),
            _("Plaintext size (bytes)"),
            _("Plaintext SHA-256"),
            _("Ciphertext size (bytes)"),
            _("Ciphertext SHA-256"),
            _("Receipt SHA-256"),
        ]
    )
    for line in lines:
        deposit = line.deposit
        received = timezone.localtime(deposit.received_at).strftime("%Y-%m-%d %H:%M:%S")
        for found in line.files:
            writer.writerow(
                [
                    csv_cell(value)
                    for value in (
                        deposit.reference,
                        deposit.company.name,
                        deposit.company.siren,
                        deposit.lot.number if deposit.lot else "",
                        deposit.get_phase_display(),
                        received,
                        _("yes") if deposit.late else _("no"),
                        deposit.get_state_display(),
                        found.name,
                        found.plaintext_size,
                        found.plaintext_sha256,
                        found.ciphertext_size,
                        found.ciphertext_sha256,
                        deposit.receipt_digest,
                    )
                ]
            )
    return out.getvalue()
