"""The hash-chained audit trail: record events, sign checkpoints, verify chains.

Every state change of the platform appends one event to the chain of the organisation
(or company) concerned, or to the platform's chain, in the same transaction as the
change. Writers lock the chain's head row, so that two concurrent writers never take
the same sequence number or the same previous hash (a fork).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import crossings
from .models import (
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditEventContext,
    AuditSubject,
    Organisation,
)

if TYPE_CHECKING:
    from mutualis.identity.models import Membership, User

PLATFORM_CHAIN = "platform"
GENESIS_HASH = "0" * 64


def organisation_chain(organisation_id: int) -> str:
    return f"org:{organisation_id}"


def company_chain(company_id: int) -> str:
    return f"company:{company_id}"


@dataclasses.dataclass(frozen=True)
class SystemActor:
    """A background job or command acting on its own (``system:<name>`` in the trail)."""

    name: str

    @property
    def reference(self) -> str:
        return f"system:{self.name}"


SYSTEM = SystemActor("platform")


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def event_hash(
    *,
    chain: str,
    sequence: int,
    prev_hash: str,
    occurred_at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    digest: str,
) -> str:
    # A JSON array, not a joined string: no separator can be smuggled into a field.
    material = [
        chain,
        sequence,
        prev_hash,
        occurred_at.astimezone(timezone.UTC).isoformat(timespec="microseconds"),
        actor,
        action,
        object_type,
        object_id,
        digest,
    ]
    return hashlib.sha256(canonical_json(material)).hexdigest()


def _actor_reference(actor: Membership | User | SystemActor | None) -> tuple[str, Any]:
    """The pseudonymous reference of an actor, and the user behind it if any."""
    if actor is None:
        return SYSTEM.reference, None
    if isinstance(actor, SystemActor):
        return actor.reference, None
    user = getattr(actor, "user", actor)
    return f"user:{user.audit_pseudonym}", user


def _remember_subject(user: Any) -> None:
    name = user.get_full_name() or user.email
    AuditSubject.objects.update_or_create(
        pseudonym=user.audit_pseudonym,
        defaults={"display_name": name, "email": user.email},
    )


def record(
    *,
    actor: Membership | User | SystemActor | None,
    action: str,
    organisation: Organisation | None = None,
    chain: str | None = None,
    target: Any = None,
    payload: dict[str, Any] | None = None,
    source_address: str | None = None,
    user_agent: str = "",
) -> AuditEvent:
    """Append an event to a chain, inside the caller's transaction.

    The chain is the organisation's when one is given (or the acting membership's),
    else the platform's; ``chain`` names another one (a company's).
    """
    if organisation is None and actor is not None and hasattr(actor, "organisation_id"):
        organisation = actor.organisation
    if chain is None:
        chain = organisation_chain(organisation.pk) if organisation else PLATFORM_CHAIN
    payload = payload or {}
    reference, user = _actor_reference(actor)
    object_type = target._meta.label_lower if target is not None else ""
    object_id = str(target.pk) if target is not None else ""

    with transaction.atomic():
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(
            chain=chain, defaults={"sequence": 0, "hash": GENESIS_HASH}
        )
        sequence = head.sequence + 1
        occurred_at = timezone.now()
        digest = payload_digest(payload)
        current = event_hash(
            chain=chain, sequence=sequence, prev_hash=head.hash, occurred_at=occurred_at,
            actor=reference, action=action, object_type=object_type, object_id=object_id,
            digest=digest,
        )
        event = AuditEvent.objects.create(
            chain=chain, sequence=sequence, organisation=organisation,
            occurred_at=occurred_at, actor=reference, action=action,
            object_type=object_type, object_id=object_id, payload=payload,
            payload_digest=digest, prev_hash=head.hash, hash=current,
        )
        head.sequence = sequence
        head.hash = current
        head.save(update_fields=["sequence", "hash"])
        if user is not None:
            _remember_subject(user)
        if source_address or user_agent:
            AuditEventContext.objects.create(
                event=event, source_address=source_address or None, user_agent=user_agent[:300]
            )
    return event


def request_context(request: Any) -> dict[str, Any]:
    """Source address and browser of a request, for ``record(**request_context(r))``."""
    return {
        "source_address": request.META.get("REMOTE_ADDR"),
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


# --- Signing key -----------------------------------------------------------------------


def load_signing_key() -> Ed25519PrivateKey:
    """The platform's Ed25519 key: from MUTUALIS_AUDIT_SIGNING_KEY (PEM) or its file."""
    pem = settings.MUTUALIS_AUDIT_SIGNING_KEY
    if not pem:
        path = Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH)
        if not path.exists():
            raise FileNotFoundError(
                f"No audit signing key: set MUTUALIS_AUDIT_SIGNING_KEY or create {path} "
                "with `mutualis init_keys`."
            )
        pem = path.read_text()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError("The audit signing key must be an Ed25519 private key.")
    return key


def generate_signing_key(path: Path) -> bool:
    """Write a new Ed25519 key to ``path`` unless one is there; True if written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return True


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _checkpoint_message(chain: str, sequence: int, hash_: str, signed_at: str) -> bytes:
    return canonical_json(["mutualis-audit-checkpoint/1", chain, sequence, hash_, signed_at])


# --- Checkpoints -----------------------------------------------------------------------


@crossings.for_every_member()
def checkpoint_all_chains() -> list[AuditCheckpoint]:
    """Sign the head of every chain that moved since its last checkpoint.

    Crosses every member by design: the checkpoint covers the whole trail. Idempotent:
    a chain whose head is already checkpointed is left alone.
    """
    key = load_signing_key()
    kid = key_id(key.public_key())
    path = Path(settings.MUTUALIS_AUDIT_CHECKPOINT_FILE)
    latest = {c.chain: c.sequence for c in latest_db_checkpoints().values()}
    made: list[AuditCheckpoint] = []
    for head in AuditChainHead.objects.order_by("chain"):
        if head.sequence == 0 or latest.get(head.chain) == head.sequence:
            continue
        signed_at = timezone.now().astimezone(timezone.UTC).isoformat(timespec="seconds")
        signature = key.sign(_checkpoint_message(head.chain, head.sequence, head.hash, signed_at))
        made.append(
            AuditCheckpoint(
                chain=head.chain, sequence=head.sequence, hash=head.hash,
                signed_at=datetime.fromisoformat(signed_at), key_id=kid,
                signature=base64.b64encode(signature).decode(),
            )
        )
    if not made:
        return made
    # The file first: a crash between the two leaves the file ahead, which verify accepts.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for c in made:
            handle.write(json.dumps(_checkpoint_record(c), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    AuditCheckpoint.objects.bulk_create(made)
    return made


def _checkpoint_record(c: AuditCheckpoint) -> dict[str, Any]:
    return {
        "chain": c.chain,
        "sequence": c.sequence,
        "hash": c.hash,
        "signed_at": c.signed_at.astimezone(timezone.UTC).isoformat(timespec="seconds"),
        "key_id": c.key_id,
        "signature": c.signature,
    }


def latest_db_checkpoints() -> dict[str, AuditCheckpoint]:
    latest: dict[str, AuditCheckpoint] = {}
    for c in AuditCheckpoint.objects.order_by("chain", "sequence"):
        latest[c.chain] = c
    return latest


# --- Verification ----------------------------------------------------------------------


@dataclasses.dataclass
class Problem:
    chain: str
    sequence: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.chain}#{self.sequence}" if self.sequence is not None else self.chain
        return f"{where}: {self.message}"


@dataclasses.dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    checkpoints_checked: int = 0
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _verify_chain(chain: str, events: Iterable[AuditEvent]) -> tuple[int, str, Problem | None]:
    """Walk one chain; return (last good sequence, its hash, first problem or None)."""
    expected_sequence = 1
    prev_hash = GENESIS_HASH
    for event in events:
        if event.sequence != expected_sequence:
            return expected_sequence - 1, prev_hash, Problem(
                chain, expected_sequence,
                f"event missing (found #{event.sequence} where #{expected_sequence} was due)",
            )
        if event.prev_hash != prev_hash:
            return expected_sequence - 1, prev_hash, Problem(
                chain, event.sequence, "does not follow the previous event (reordered or forked)"
            )
        if payload_digest(event.payload) != event.payload_digest:
            return expected_sequence - 1, prev_hash, Problem(
                chain, event.sequence, "payload altered (digest mismatch)"
            )
        recomputed = event_hash(
            chain=event.chain, sequence=event.sequence, prev_hash=event.prev_hash,
            occurred_at=event.occurred_at, actor=event.actor, action=event.action,
            object_type=event.object_type, object_id=event.object_id,
            digest=event.payload_digest,
        )
        if recomputed != event.hash:
            return expected_sequence - 1, prev_hash, Problem(
                chain, event.sequence, "event altered (hash mismatch)"
            )
        prev_hash = event.hash
        expected_sequence += 1
    return expected_sequence - 1, prev_hash, None


def read_checkpoint_file(path: Path) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """Latest checkpoint per chain from the append-only file."""
    latest: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    if not path.exists():
        return latest, problems
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record_ = json.loads(line)
                chain = record_["chain"]
                sequence = int(record_["sequence"])
            except (ValueError, KeyError, TypeError):
                problems.append(Problem("checkpoint-file", None, f"line {number} is unreadable"))
                continue
            if chain not in latest or sequence >= int(latest[chain]["sequence"]):
                latest[chain] = record_
    return latest, problems


def _signature_ok(public_key: Ed25519PublicKey, record_: dict[str, Any]) -> bool:
    try:
        public_key.verify(
            base64.b64decode(record_["signature"]),
            _checkpoint_message(
                record_["chain"], int(record_["sequence"]), record_["hash"], record_["signed_at"]
            ),
        )
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


def _iter_chain_events() -> Iterator[tuple[str, list[AuditEvent]]]:
    current: str | None = None
    batch: list[AuditEvent] = []
    for event in AuditEvent.objects.order_by("chain", "sequence").iterator(chunk_size=2000):
        if event.chain != current:
            if current is not None:
                yield current, batch
            current, batch = event.chain, []
        batch.append(event)
    if current is not None:
        yield current, batch


@crossings.for_every_member()
def verify_all_chains() -> VerifyReport:
    """Check every chain against itself and against the latest checkpoints (DB and file).

    Crosses every member by design. Reports the first broken event of each chain.
    """
    report = VerifyReport()
    public_key = load_signing_key().public_key()
    file_latest, file_problems = read_checkpoint_file(Path(settings.MUTUALIS_AUDIT_CHECKPOINT_FILE))
    report.problems.extend(file_problems)
    db_latest = {chain: _checkpoint_record(c) for chain, c in latest_db_checkpoints().items()}

    heads: dict[str, tuple[int, str]] = {}
    for chain, events in _iter_chain_events():
        report.chains += 1
        report.events += len(events)
        last_sequence, last_hash, problem = _verify_chain(chain, events)
        if problem:
            report.problems.append(problem)
            heads[chain] = (-1, "")  # already broken: checkpoints add nothing
        else:
            heads[chain] = (last_sequence, last_hash)
    by_sequence = _hashes_at_checkpoints(db_latest, file_latest)

    for source, latest in (("database", db_latest), ("file", file_latest)):
        for chain, record_ in latest.items():
            report.checkpoints_checked += 1
            if not _signature_ok(public_key, record_):
                report.problems.append(
                    Problem(chain, None, f"checkpoint in the {source} has a bad signature")
                )
                continue
            head_sequence, _head_hash = heads.get(chain, (0, GENESIS_HASH))
            if head_sequence < 0:
                continue
            sequence = int(record_["sequence"])
            if sequence > head_sequence:
                report.problems.append(
                    Problem(
                        chain, head_sequence + 1,
                        f"events cut off: the {source} checkpoint vouches for #{sequence}, "
                        f"the chain ends at #{head_sequence}",
                    )
                )
            elif by_sequence.get((chain, sequence)) != record_["hash"]:
                report.problems.append(
                    Problem(chain, sequence, f"differs from the {source} checkpoint")
                )
    return report


def _hashes_at_checkpoints(*latests: dict[str, dict[str, Any]]) -> dict[tuple[str, int], str]:
    wanted = {(chain, int(r["sequence"])) for latest in latests for chain, r in latest.items()}
    found: dict[tuple[str, int], str] = {}
    for chain, sequence in wanted:
        event = AuditEvent.objects.filter(chain=chain, sequence=sequence).only("hash").first()
        if event is not None:
            found[(chain, sequence)] = event.hash
    return found
