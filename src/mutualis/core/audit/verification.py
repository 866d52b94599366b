"""Checkpoints of chain heads and the verification of every chain against them."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import operator
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from mutualis.core import crossings
from mutualis.core.instance import current_instance, ensure_instance
from mutualis.core.models import (
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
)

from .chain import GENESIS_HASH, hash_of, payload_digest
from .keys import checkpoint_message, key_id, load_signing_key


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
    record_ = {
        "chain": c.chain,
        "sequence": c.sequence,
        "hash": c.hash,
        "signed_at": c.signed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "key_id": c.key_id,
        "signature": c.signature,
    }
    if c.instance is not None:
        record_["instance"] = str(c.instance)
    return record_


def _signature_ok(public_key: Ed25519PublicKey, record_: dict[str, Any]) -> bool:
    try:
        public_key.verify(
            base64.b64decode(record_["signature"], validate=True),
            checkpoint_message(
                record_["chain"],
                int(record_["sequence"]),
                record_["hash"],
                record_["signed_at"],
                record_.get("instance"),
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
    instance = ensure_instance()
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
        signature = key.sign(
            checkpoint_message(head.chain, head.sequence, head.hash, signed_at, str(instance))
        )
        made.append(
            AuditCheckpoint(
                chain=head.chain,
                sequence=head.sequence,
                hash=head.hash,
                signed_at=datetime.fromisoformat(signed_at),
                key_id=kid,
                signature=base64.b64encode(signature).decode(),
                instance=instance,
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
                if not isinstance(record_.get("instance", ""), str):
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
    instance = current_instance()
    this = str(instance.identifier) if instance is not None else None
    legacy_until = instance.legacy_checkpoints_until if instance is not None else None
    records, foreign = _own_records(records, this, legacy_until)
    vouched: dict[str, list[_Vouched]] = {}
    for record_ in records:
        vouched.setdefault(record_["chain"], []).append(_Vouched("file", record_))
    renamed: set[str] = set()
    for c in AuditCheckpoint.objects.order_by("chain", "sequence").iterator(chunk_size=2000):
        vouched.setdefault(c.chain, []).append(_Vouched("database", _checkpoint_record(c)))
        if c.instance is not None and str(c.instance) != this:
            renamed.add(str(c.instance))
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
    report.problems.extend(_instance_problems(this, foreign, renamed))
    return report


def _own_records(
    records: list[dict[str, Any]], this: str | None, legacy_until: datetime | None
) -> tuple[list[dict[str, Any]], dict[str | None, int]]:
    """The file's checkpoints of this instance, and how many each other instance wrote
    (``None``: another database, before instances were named).

    A line without an instance (format 1) is this instance's if the database had signed
    it when it was named (``legacy_until``, set by the naming migration on a database
    that already had checkpoints); on a database named at birth, it is another's.
    """
    own: list[dict[str, Any]] = []
    foreign: dict[str | None, int] = {}
    for record_ in records:
        other = record_.get("instance")
        mine = other == this if other is not None else _signed_by_then(record_, legacy_until)
        if mine:
            own.append(record_)
        else:
            foreign[other] = foreign.get(other, 0) + 1
    return own, foreign


def _signed_by_then(record_: dict[str, Any], legacy_until: datetime | None) -> bool:
    if legacy_until is None:
        return False
    try:
        signed_at = datetime.fromisoformat(str(record_["signed_at"]))
    except (KeyError, ValueError):
        # Not a date: compared as this instance's, its signature then fails.
        return True
    if signed_at.tzinfo is None:
        return True
    return signed_at <= legacy_until


def _instance_problems(
    this: str | None, foreign: dict[str | None, int], renamed: set[str]
) -> list[Problem]:
    """Checkpoints that belong to another instance: a mix-up of files, not tampering.

    They are not compared with this database's chains (another database's events #1, #2…
    are not this one's), yet reported: a monitoring check must not stay green while the
    file that guards this instance is another one's.
    """
    problems = []
    if this is None:
        problems.append(
            Problem(
                "instance",
                None,
                "instance_missing",
                gettext("this database has no instance identifier: run `mutualis setup`"),
            )
        )
    for other, count in sorted(foreign.items(), key=lambda item: item[0] or ""):
        if other is None:
            problems.append(
                Problem(
                    "checkpoint-file",
                    None,
                    "checkpoint_file_foreign",
                    ngettext(
                        "%(count)d checkpoint of the file names no instance and was not "
                        "signed by this database before it was named (%(this)s): another "
                        "database's, not compared with this one. Give each instance its own "
                        "MUTUALIS_AUDIT_CHECKPOINT_FILE.",
                        "%(count)d checkpoints of the file name no instance and were not "
                        "signed by this database before it was named (%(this)s): another "
                        "database's, not compared with this one. Give each instance its own "
                        "MUTUALIS_AUDIT_CHECKPOINT_FILE.",
                        count,
                    )
                    % {"count": count, "this": this or "?"},
                )
            )
            continue
        problems.append(
            Problem(
                "checkpoint-file",
                None,
                "checkpoint_file_foreign",
                ngettext(
                    "%(count)d checkpoint of the file belongs to another instance "
                    "(%(other)s), not to this one (%(this)s): not compared with this "
                    "database. Give each instance its own MUTUALIS_AUDIT_CHECKPOINT_FILE.",
                    "%(count)d checkpoints of the file belong to another instance "
                    "(%(other)s), not to this one (%(this)s): not compared with this "
                    "database. Give each instance its own MUTUALIS_AUDIT_CHECKPOINT_FILE.",
                    count,
                )
                % {"count": count, "other": other, "this": this or "?"},
            )
        )
    for other in sorted(renamed):
        # The database's own checkpoints name the instance that signed them: one naming
        # another instance means the identifier in the database was changed.
        problems.append(
            Problem(
                "instance",
                None,
                "instance_changed",
                gettext(
                    "the database holds checkpoints signed by instance %(other)s, but names "
                    "itself %(this)s: its instance identifier was changed"
                )
                % {"other": other, "this": this or "?"},
            )
        )
    return problems
