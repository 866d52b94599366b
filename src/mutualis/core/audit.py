"""The hash-chained audit trail: record events, sign checkpoints, verify chains.

Every state change of the platform appends one event to the chain of the organisation
(or company) concerned, or to the platform's chain, in the same transaction as the
change. Writers lock the chain's head row, so that two concurrent writers never take
the same sequence number or the same previous hash (a fork).

A hash chain alone proves nothing about its end: whoever deletes the last events and
rewinds the head leaves a chain that is perfectly consistent. So a job signs the head of
every chain each minute (``checkpoint_all_chains``) with the platform's Ed25519 key and
keeps the signed statement twice, in the database and appended to a file outside it;
``verify_all_chains`` then checks each chain against itself and against every checkpoint
it finds in both places.

Personal data never enters the hashed fields: the actor is a pseudonym whose identity
lives in ``AuditSubject``, the source address in ``AuditEventContext``; the payload holds
identifiers, not names. ``erase_subject`` blanks those rows without touching a chain.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import json
import operator
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

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
# Tags the hashed and signed material, so that a future format can never be mistaken
# for this one.
EVENT_FORMAT = "mutualis-audit-event/1"
CHECKPOINT_FORMAT = "mutualis-audit-checkpoint/1"


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


# --- Hashing ---------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8.

    NaN and infinities are refused: neither JSON nor PostgreSQL's jsonb stores them, so
    their digest could never be recomputed from the stored payload.
    """
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=str,
    ).encode()


def normalise_payload(payload: dict[str, Any] | None) -> dict[str, Any]:
    """The payload as the database gives it back: tuples become lists, keys strings,
    dates and decimals strings. Hashing this form, not the caller's objects, lets
    verification recompute the digest from the stored row."""
    return json.loads(canonical_json(payload or {}))  # type: ignore[no-any-return]


def payload_digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def event_hash(
    *,
    chain: str,
    sequence: int,
    prev_hash: str,
    occurred_at: datetime,
    organisation_id: int | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    digest: str,
) -> str:
    # A JSON array, not a joined string: no separator can be smuggled into a field. The
    # organisation is hashed too, since it decides which member may read the event.
    material = [
        EVENT_FORMAT,
        chain,
        sequence,
        prev_hash,
        occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        organisation_id,
        actor,
        action,
        object_type,
        object_id,
        digest,
    ]
    return hashlib.sha256(canonical_json(material)).hexdigest()


def hash_of(event: AuditEvent) -> str:
    """The hash an event should carry, recomputed from its stored fields."""
    return event_hash(
        chain=event.chain,
        sequence=event.sequence,
        prev_hash=event.prev_hash,
        occurred_at=event.occurred_at,
        organisation_id=event.organisation_id,
        actor=event.actor,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        digest=event.payload_digest,
    )


# --- Recording -------------------------------------------------------------------------


def _actor_reference(actor: Membership | User | SystemActor | None) -> tuple[str, Any]:
    """The pseudonymous reference of an actor, and the user behind it if any."""
    if actor is None:
        return SYSTEM.reference, None
    if isinstance(actor, SystemActor):
        return actor.reference, None
    user = getattr(actor, "user", actor)
    return subject_reference(user.audit_pseudonym), user


def subject_reference(pseudonym: uuid.UUID | str) -> str:
    """How a person appears in the ``actor`` field of the events."""
    return f"user:{uuid.UUID(str(pseudonym))}"


def _remember_subject(user: Any) -> None:
    name = user.get_full_name() or user.email
    subject, created = AuditSubject.objects.get_or_create(
        pseudonym=user.audit_pseudonym, defaults={"display_name": name, "email": user.email}
    )
    # Erasure is final: a late write (a job finishing after the account was deleted)
    # must not bring the name back.
    if created or subject.erased_at is not None:
        return
    if (subject.display_name, subject.email) != (name, user.email):
        subject.display_name, subject.email = name, user.email
        subject.save(update_fields=["display_name", "email"])


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
    else the platform's; ``chain`` names another one (a company's). The payload must be
    JSON (identifiers, amounts as strings, no names); floats are best avoided, as
    PostgreSQL may print a large one back differently.
    """
    if organisation is None and actor is not None and hasattr(actor, "organisation_id"):
        organisation = actor.organisation
    if chain is None:
        chain = organisation_chain(organisation.pk) if organisation else PLATFORM_CHAIN
    payload = normalise_payload(payload)
    digest = payload_digest(payload)
    reference, user = _actor_reference(actor)
    object_type = target._meta.label_lower if target is not None else ""
    object_id = str(target.pk) if target is not None else ""
    organisation_id = organisation.pk if organisation is not None else None

    with transaction.atomic():
        # The lock on the head serialises the writers of one chain: the second waits,
        # then reads the head the first one committed (a fresh snapshot under READ
        # COMMITTED), so no two events ever share a sequence or a previous hash. Two
        # writers creating the same head collide on its primary key; get_or_create
        # then reads the winner's row.
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(
            chain=chain, defaults={"sequence": 0, "hash": GENESIS_HASH}
        )
        sequence = head.sequence + 1
        occurred_at = timezone.now()
        current = event_hash(
            chain=chain,
            sequence=sequence,
            prev_hash=head.hash,
            occurred_at=occurred_at,
            organisation_id=organisation_id,
            actor=reference,
            action=action,
            object_type=object_type,
            object_id=object_id,
            digest=digest,
        )
        event = AuditEvent.objects.create(
            chain=chain,
            sequence=sequence,
            organisation_id=organisation_id,
            occurred_at=occurred_at,
            actor=reference,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            payload_digest=digest,
            prev_hash=head.hash,
            hash=current,
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


def erase_subject(pseudonym: uuid.UUID | str) -> int:
    """Erase what the trail knows of a person: name, e-mail, the context of their events.

    The events keep the bare pseudonym, so every chain stays intact. Runs inside the
    caller's transaction (account deletion records its own event). Returns the number
    of event contexts deleted.
    """
    with transaction.atomic():
        AuditSubject.objects.update_or_create(
            pseudonym=uuid.UUID(str(pseudonym)),
            defaults={"display_name": "", "email": "", "erased_at": timezone.now()},
        )
        deleted, _by_model = AuditEventContext.objects.filter(
            event__actor=subject_reference(pseudonym)
        ).delete()
    return deleted


# --- Signing key -----------------------------------------------------------------------


def load_signing_key() -> Ed25519PrivateKey:
    """The platform's Ed25519 key: from MUTUALIS_AUDIT_SIGNING_KEY (PEM) or its file."""
    pem = settings.MUTUALIS_AUDIT_SIGNING_KEY
    if not pem:
        path = Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH)
        if not path.exists():
            raise FileNotFoundError(
                gettext(
                    "No audit signing key: set MUTUALIS_AUDIT_SIGNING_KEY or create %(path)s "
                    "with `mutualis init_keys`."
                )
                % {"path": path}
            )
        pem = path.read_text()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(gettext("The audit signing key must be an Ed25519 private key."))
    return key


def generate_signing_key(path: Path) -> bool:
    """Write a new Ed25519 key to ``path`` unless one is there; True if written."""
    path = Path(path)
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written aside then linked into place: a crash or a second process running
    # init_keys at the same time never leaves a half-written key behind.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            return False
    finally:
        partial.unlink(missing_ok=True)
    return True


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(chain: str, sequence: int, hash_: str, signed_at: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    return canonical_json([CHECKPOINT_FORMAT, chain, sequence, hash_, signed_at])


# --- Problems --------------------------------------------------------------------------


@dataclasses.dataclass
class Problem:
    """Something wrong in the trail; ``sequence`` is the first broken event, if known."""

    chain: str
    sequence: int | None
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.chain}#{self.sequence}" if self.sequence is not None else self.chain
        return f"{where}: {self.message}"


class AuditChainBroken(Exception):
    """Some chains were not checkpointed: they no longer extend their last checkpoint."""

    code = "audit_chain_broken"

    def __init__(self, problems: list[Problem], made: list[AuditCheckpoint]) -> None:
        self.problems = problems
        self.made = made
        super().__init__("; ".join(str(p) for p in problems))


def _walk_problem(chain: str, event: AuditEvent, sequence: int, prev_hash: str) -> Problem | None:
    """What is wrong with ``event`` where event #sequence following ``prev_hash`` was due."""
    if event.sequence != sequence:
        return Problem(
            chain,
            sequence,
            "event_missing",
            gettext("event missing (found #%(found)s where #%(due)s was due)")
            % {"found": event.sequence, "due": sequence},
        )
    if event.prev_hash != prev_hash:
        return Problem(
            chain,
            sequence,
            "out_of_order",
            gettext("does not follow the previous event (reordered, forked or replaced)"),
        )
    if payload_digest(event.payload) != event.payload_digest:
        return Problem(chain, sequence, "payload_altered", gettext("payload altered"))
    if hash_of(event) != event.hash:
        return Problem(chain, sequence, "event_altered", gettext("event altered"))
    return None


# --- Checkpoints -----------------------------------------------------------------------


def _checkpoint_record(c: AuditCheckpoint) -> dict[str, Any]:
    return {
        "chain": c.chain,
        "sequence": c.sequence,
        "hash": c.hash,
        "signed_at": c.signed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "key_id": c.key_id,
        "signature": c.signature,
    }


def _signature_ok(public_key: Ed25519PublicKey, record_: dict[str, Any]) -> bool:
    try:
        public_key.verify(
            base64.b64decode(record_["signature"], validate=True),
            checkpoint_message(
                record_["chain"], int(record_["sequence"]), record_["hash"], record_["signed_at"]
            ),
        )
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def _extension_problem(
    head: AuditChainHead, base: AuditCheckpoint | None, public_key: Ed25519PublicKey
) -> Problem | None:
    """Whether the chain, up to ``head``, still extends its last checkpoint ``base``.

    Walks only the events written since ``base``, so the job stays cheap; a chain cut or
    rewritten behind the last checkpoint is then refused within a minute rather than
    found at the next full verification.
    """
    sequence, prev_hash = 0, GENESIS_HASH
    if base is not None:
        if not _signature_ok(public_key, _checkpoint_record(base)):
            return Problem(
                head.chain,
                base.sequence,
                "bad_signature",
                gettext("the last checkpoint in the database has a bad signature"),
            )
        anchor = (
            AuditEvent.objects.filter(chain=head.chain, sequence=base.sequence).only("hash").first()
        )
        if anchor is None or base.sequence > head.sequence:
            return Problem(
                head.chain,
                min(base.sequence, head.sequence + 1),
                "cut_off",
                gettext("events cut off: the last checkpoint vouches for #%(vouched)s")
                % {"vouched": base.sequence},
            )
        if anchor.hash != base.hash:
            return Problem(
                head.chain, base.sequence, "rewritten", gettext("differs from the last checkpoint")
            )
        sequence, prev_hash = base.sequence, base.hash
    events = AuditEvent.objects.filter(
        chain=head.chain, sequence__gt=sequence, sequence__lte=head.sequence
    ).order_by("sequence")
    for event in events.iterator(chunk_size=2000):
        problem = _walk_problem(head.chain, event, sequence + 1, prev_hash)
        if problem is not None:
            return problem
        sequence, prev_hash = event.sequence, event.hash
    if sequence < head.sequence:
        return Problem(
            head.chain,
            sequence + 1,
            "cut_off",
            gettext("events cut off: the chain head says #%(head)s, the chain ends at #%(end)s")
            % {"head": head.sequence, "end": sequence},
        )
    if prev_hash != head.hash:
        return Problem(
            head.chain, sequence, "head_mismatch", gettext("differs from the chain head")
        )
    return None


@crossings.for_every_member()
def checkpoint_all_chains() -> list[AuditCheckpoint]:
    """Sign the head of every chain that moved since its last checkpoint.

    Crosses every member by design: the checkpoint covers the whole trail. Idempotent:
    a chain whose head is already checkpointed is left alone. A chain that no longer
    extends its last checkpoint is not signed; the others are, then ``AuditChainBroken``
    is raised, so that the scheduler reports the incident every minute until resolved.
    """
    key = load_signing_key()
    public_key = key.public_key()
    kid = key_id(public_key)
    made: list[AuditCheckpoint] = []
    problems: list[Problem] = []
    for head in AuditChainHead.objects.order_by("chain"):
        base = AuditCheckpoint.objects.filter(chain=head.chain).order_by("-sequence", "-pk").first()
        if base is None and head.sequence == 0:
            continue
        if base is not None and (base.sequence, base.hash) == (head.sequence, head.hash):
            continue
        problem = _extension_problem(head, base, public_key)
        if problem is not None:
            problems.append(problem)
            continue
        signed_at = timezone.now().astimezone(UTC).isoformat(timespec="seconds")
        signature = key.sign(checkpoint_message(head.chain, head.sequence, head.hash, signed_at))
        made.append(
            AuditCheckpoint(
                chain=head.chain,
                sequence=head.sequence,
                hash=head.hash,
                signed_at=datetime.fromisoformat(signed_at),
                key_id=kid,
                signature=base64.b64encode(signature).decode(),
            )
        )
    if made:
        # The file first: it is the copy out of reach of whoever writes to the database;
        # a crash between the two leaves it ahead of the database, which verify accepts.
        path = Path(settings.MUTUALIS_AUDIT_CHECKPOINT_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            for c in made:
                handle.write(json.dumps(_checkpoint_record(c), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        AuditCheckpoint.objects.bulk_create(made)
    if problems:
        raise AuditChainBroken(problems, made)
    return made


def read_checkpoint_file(path: Path) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Every checkpoint of the append-only file, and its unreadable lines."""
    records: list[dict[str, Any]] = []
    problems: list[Problem] = []
    if not path.exists():
        return records, problems
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record_ = json.loads(line)
                record_["sequence"] = int(record_["sequence"])
                if not isinstance(record_["chain"], str) or not isinstance(record_["hash"], str):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                problems.append(
                    Problem(
                        "checkpoint-file",
                        None,
                        "checkpoint_unreadable",
                        gettext("line %(number)s is unreadable") % {"number": number},
                    )
                )
                continue
            records.append(record_)
    return records, problems


# --- Verification ----------------------------------------------------------------------


# Where a checkpoint was read, as a whole phrase for translation.
PLACES = {
    "database": gettext_lazy("the database"),
    "file": gettext_lazy("the checkpoint file"),
}


@dataclasses.dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    checkpoints_checked: int = 0
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclasses.dataclass
class _Vouched:
    """A checkpoint as read from one place, waiting to be compared with its chain."""

    place: str
    record: dict[str, Any]

    @property
    def sequence(self) -> int:
        return int(self.record["sequence"])


class _ChainWalk:
    """Walks one chain in order, one event at a time, comparing it with the checkpoints
    and the head that vouch for it. Keeps the first broken event only: what follows a
    break cannot be judged."""

    def __init__(
        self,
        chain: str,
        vouched: list[_Vouched],
        head: tuple[int, str] | None,
        public_key: Ed25519PublicKey,
    ) -> None:
        self.chain = chain
        self.head = head
        self.public_key = public_key
        self.events = 0
        self.checkpoints = len(vouched)
        self.sequence = 0
        self.hash = GENESIS_HASH
        self.agreed = 0  # the last sequence a checkpoint agreed with
        self.problem: Problem | None = None
        self.bad_signatures: list[Problem] = []
        self.pending: dict[int, list[_Vouched]] = {}
        for v in vouched:
            self.pending.setdefault(v.sequence, []).append(v)
        # The newest checkpoint of each place has its signature checked even when it
        # agrees: it is the one that proves where the chain ends. An older one that
        # agrees proves nothing more; one that disagrees is checked before accusing.
        newest: dict[str, _Vouched] = {}
        for v in vouched:
            if v.place not in newest or v.sequence >= newest[v.place].sequence:
                newest[v.place] = v
        self.newest = {id(v) for v in newest.values()}

    def _genuine(self, v: _Vouched) -> bool:
        if _signature_ok(self.public_key, v.record):
            return True
        self.bad_signatures.append(
            Problem(
                self.chain,
                v.sequence,
                "bad_signature",
                gettext("%(place)s holds a checkpoint with a bad signature")
                % {"place": PLACES[v.place]},
            )
        )
        return False

    def feed(self, event: AuditEvent) -> None:
        self.events += 1
        if self.problem is not None:
            return
        self.problem = _walk_problem(self.chain, event, self.sequence + 1, self.hash)
        if self.problem is not None:
            return
        self.sequence, self.hash = event.sequence, event.hash
        for v in self.pending.pop(event.sequence, []):
            if v.record["hash"] == event.hash:
                if id(v) in self.newest:
                    self._genuine(v)
                self.agreed = event.sequence
            elif self._genuine(v) and self.problem is None:
                # Every hash links up, yet a signed checkpoint says otherwise: the chain
                # was rewritten (hashes recomputed) after the last agreeing checkpoint.
                self.problem = Problem(
                    self.chain,
                    event.sequence,
                    "rewritten",
                    gettext(
                        "differs from what %(place)s vouches for: events #%(first)s to "
                        "#%(last)s were rewritten"
                    )
                    % {
                        "place": PLACES[v.place],
                        "first": self.agreed + 1,
                        "last": event.sequence,
                    },
                )
        # The head was read before the events: it may lag behind them, never differ.
        if (
            self.problem is None
            and self.head is not None
            and self.head[0] == event.sequence
            and self.head[1] != event.hash
        ):
            self.problem = Problem(
                self.chain, event.sequence, "head_mismatch", gettext("differs from the chain head")
            )

    def finish(self) -> None:
        if self.problem is not None:
            return
        # Checkpoints left over vouch for events past the end of the chain.
        beyond = sorted(
            (v for vs in self.pending.values() for v in vs), key=lambda v: v.sequence, reverse=True
        )
        for v in beyond:
            if self._genuine(v):
                self.problem = Problem(
                    self.chain,
                    self.sequence + 1,
                    "cut_off",
                    gettext(
                        "events cut off: the chain ends at #%(end)s, %(place)s vouches for "
                        "#%(vouched)s"
                    )
                    % {"place": PLACES[v.place], "vouched": v.sequence, "end": self.sequence},
                )
                return
        if (
            self.head is None
            and self.sequence > 0
            # Read again: the chain may have begun after the heads were read.
            and not AuditChainHead.objects.filter(chain=self.chain).exists()
        ):
            # The head is written with the first event; without it the next writer
            # would start the chain again at #1.
            self.problem = Problem(
                self.chain, None, "head_mismatch", gettext("the chain head is missing")
            )
        elif self.head is not None and self.head[0] > self.sequence:
            self.problem = Problem(
                self.chain,
                self.sequence + 1,
                "cut_off",
                gettext("events cut off: the chain head says #%(head)s, the chain ends at #%(end)s")
                % {"head": self.head[0], "end": self.sequence},
            )


@crossings.for_every_member()
def verify_all_chains() -> VerifyReport:
    """Check every chain against itself, its head and every checkpoint (DB and file).

    Crosses every member by design. Reports the first broken event of each chain, then
    the checkpoints whose signature fails, then unreadable lines of the file.
    """
    public_key = load_signing_key().public_key()
    # Read in this order (checkpoints, heads, then events) so that writers running
    # meanwhile only add events the earlier reads do not know of: a checkpoint or a
    # head read first always finds its events, and no intact chain looks cut.
    records, file_problems = read_checkpoint_file(Path(settings.MUTUALIS_AUDIT_CHECKPOINT_FILE))
    vouched: dict[str, list[_Vouched]] = {}
    for record_ in records:
        vouched.setdefault(record_["chain"], []).append(_Vouched("file", record_))
    for c in AuditCheckpoint.objects.order_by("chain", "sequence").iterator(chunk_size=2000):
        vouched.setdefault(c.chain, []).append(_Vouched("database", _checkpoint_record(c)))
    heads = {h.chain: (h.sequence, h.hash) for h in AuditChainHead.objects.all()}

    walks: list[_ChainWalk] = []
    events = AuditEvent.objects.order_by("chain", "sequence").iterator(chunk_size=2000)
    # Streamed chain by chain: a long chain is never held in memory.
    for chain, chain_events in itertools.groupby(events, key=operator.attrgetter("chain")):
        walk = _ChainWalk(chain, vouched.pop(chain, []), heads.pop(chain, None), public_key)
        for event in chain_events:
            walk.feed(event)
        walk.finish()
        walks.append(walk)
    # A chain whose every event is gone still has a head or checkpoints to accuse it.
    for chain in sorted(set(heads) | set(vouched)):
        walk = _ChainWalk(chain, vouched.get(chain, []), heads.get(chain), public_key)
        walk.finish()
        walks.append(walk)

    report = VerifyReport(chains=len(walks))
    for walk in walks:
        report.events += walk.events
        report.checkpoints_checked += walk.checkpoints
        if walk.problem is not None:
            report.problems.append(walk.problem)
    report.problems.extend(p for walk in walks for p in walk.bad_signatures)
    report.problems.extend(file_problems)
    return report
