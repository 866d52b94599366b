"""The return channel in batches: a mailbox's new messages are read a batch at a time
(``mailbox.batches``: one ``UID FETCH`` over IMAP), each message is parsed and checked
on its own, and the batch is written in one transaction, then marked done at once.

For each batch (``receive_many``):

1. the messages already recorded (their SHA-256, one query) are duplicates: nothing
   more is done with them (a message read twice, a crash between the commit and the
   mailbox's flag, is never acknowledged twice); the same message twice in one batch
   is one message;
2. each new message is parsed and checked against the @ctes schema
   (``returns.parse``); one that cannot be is quarantined, as one by one;
3. in one transaction, in the mailbox's order: each run of consecutive ``ARActe`` is
   acknowledged together (``_acknowledge_run``: the members by SIREN and the acts by
   identifier in one query each, the acts locked; each act's transition checked in the
   transition table, exactly as ``services.acknowledge_act`` does; the acts saved by one
   bulk update, the webhooks' deliveries, one audit event per act appended to each
   member's chain by ``audit.chain.record_many``, the stamps queued in bulk); the
   failures of a run (unknown SIREN or act, wrong status, unreadable date) are
   separated before anything is written and quarantined with today's reasons. Any other
   message (an anomaly, a letter…) is processed on its own in that order, by the same
   code as one by one (``returns.process_parsed``, in a savepoint). Then the raw e-mails are
   kept in the private file store (``_keep_many``: one file per message, one
   ``syncfs`` for the batch) and the ``InboundMessage`` rows inserted together.
4. should the batch's transaction fail (a concurrent reader recorded one of the
   messages first, a database error), nothing of it is kept and the batch is processed
   again one message at a time (``returns.receive``), each in its own transaction.

Why one file per message rather than one archive per batch: each message stays an
ordinary file of the store (``StoredFile``, its SHA-256 measured from the bytes kept),
which ``InboundMessage.raw`` names as before, that the integrity job checks and the
operator downloads as received; an archive would need an offset and a length on each row.
The price of durability is the same: the files are written, then one ``syncfs`` of their
file system (every file's bytes and every directory entry on disk, as an ``fsync`` of
each would) before the rows are committed.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core.audit.chain import PendingEvent, record_many
from mutualis.core.files.names import sanitise_name
from mutualis.core.files.sniff import SNIFF_BYTES, sniff_content_type
from mutualis.core.files.storage import DurableFileSystemStorage
from mutualis.core.files.store import file_storage
from mutualis.core.models import Organisation, StoredFile

from . import classification, crossings, returns, services, signals, transitions, webhooks
from .actes import qualified
from .mailbox import Mailbox
from .models import (
    INBOUND_OWNER_KIND,
    Act,
    ActStatus,
    ClassificationState,
    InboundMessage,
    InboundStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from .returns import Parsed, Unroutable

log = logging.getLogger(__name__)


@dataclasses.dataclass
class _Item:
    """One new message of a batch, on its way to its ``InboundMessage`` row."""

    raw: bytes
    sha256: str
    row: InboundMessage
    parsed: Parsed | None = None
    # Set when the message is quarantined.
    reason: str = ""


def read_mailbox(box: Mailbox, now: datetime | None = None) -> dict[str, int]:
    """Process every new message of ``box``, a batch at a time; each batch is marked
    done once committed."""
    counts = {"processed": 0, "quarantined": 0, "duplicate": 0}
    for batch in box.batches():
        raws = []
        for message in batch:
            if not message.raw.strip():
                # Nothing to keep nor to lose: an empty message is only counted.
                counts["empty"] = counts.get("empty", 0) + 1
                continue
            raws.append(message.raw)
        for outcome in receive_many(raws, now):
            counts[outcome] = counts.get(outcome, 0) + 1
        box.done_many([message.key for message in batch])
    return counts


def receive_many(raws: Sequence[bytes], now: datetime | None = None) -> list[str]:
    """Process raw e-mails as one batch: for each, "processed", "quarantined" or
    "duplicate", as ``returns.receive`` would have answered one by one."""
    now = now or timezone.now()
    outcomes = ["duplicate"] * len(raws)
    digests = [hashlib.sha256(raw).hexdigest() for raw in raws]
    known = set(
        InboundMessage.objects.filter(sha256__in=set(digests)).values_list("sha256", flat=True)
    )
    items: dict[int, _Item] = {}
    for index, (raw, sha256) in enumerate(zip(raws, digests, strict=True)):
        if sha256 in known:
            continue
        known.add(sha256)
        item = _Item(raw, sha256, InboundMessage(sha256=sha256, received_at=now))
        try:
            item.parsed = returns.parse_checked(raw)
            item.row.message_id, item.row.kind = item.parsed.message_id, item.parsed.kind
        except Unroutable as exc:
            item.reason = exc.reason
            item.row.message_id = returns.message_id_of(raw)
        items[index] = item
    if not items:
        return outcomes
    try:
        with transaction.atomic():
            _process_in_order(list(items.values()), now)
            ordered = list(items.values())
            stored = _keep_many(
                [(item.raw, item.sha256, item.parsed is not None) for item in ordered]
            )
            for item, raw_file in zip(ordered, stored, strict=True):
                item.row.raw = raw_file
            InboundMessage.objects.bulk_create([item.row for item in ordered])
    except Exception:
        # Nothing of the batch was kept: each message again, in its own transaction.
        log.exception("legality: a batch of %s messages failed, read one by one", len(items))
        for index in items:
            outcomes[index] = returns.receive(raws[index], now)
        return outcomes
    for index, item in items.items():
        outcomes[index] = str(item.row.status)
        if item.row.status == InboundStatus.QUARANTINED:
            log.warning("legality: message %s quarantined: %s", item.sha256[:12], item.reason)
    return outcomes


def _process_in_order(items: list[_Item], now: datetime) -> None:
    """Process the batch's messages in the mailbox's order: runs of acknowledgements
    together, any other message on its own; each ends processed or quarantined."""
    run: list[tuple[_Item, Parsed]] = []
    for item in items:
        if item.parsed is None:
            continue
        if item.parsed.kind == "ARActe":
            run.append((item, item.parsed))
            continue
        _acknowledge_run(run, now)
        run = []
        try:
            with transaction.atomic():
                organisation_id, act = returns.process_parsed(item.parsed, item.sha256)
        except Unroutable as exc:
            item.reason = exc.reason
        else:
            _processed(item, organisation_id, act)
    _acknowledge_run(run, now)
    for item in items:
        if item.reason:
            item.row.status = InboundStatus.QUARANTINED
            item.row.reason = item.reason[:500]
            item.row.organisation_id, item.row.act, item.row.identifier = None, None, ""


def _processed(item: _Item, organisation_id: int, act: Act | None) -> None:
    item.row.status = InboundStatus.PROCESSED
    item.row.organisation_id = organisation_id
    item.row.act = act
    item.row.identifier = act.identifier if act is not None else ""


def _acknowledge_run(run: list[tuple[_Item, Parsed]], now: datetime) -> None:
    """``services.acknowledge_act`` then ``returns.announce_classification`` for each ``ARActe`` of
    ``run``, in a few statements; a message that cannot be acknowledged is quarantined
    with the reason one by one would give, and changes nothing."""
    if not run:
        return
    members = crossings.members_of_sirens({parsed.siren for _item, parsed in run})
    wanted: list[tuple[_Item, Parsed, int, str, date]] = []
    for item, parsed in run:
        organisation_id = members.get(parsed.siren)
        if organisation_id is None:
            item.reason = f"no member has the SIREN {parsed.siren}"
            continue
        try:
            received_on = returns.date_in(parsed.root, "DateReception")
        except ValueError as exc:
            item.reason = f"unreadable date: {exc}"[:500]
            continue
        wanted.append(
            (item, parsed, organisation_id, parsed.root.get(qualified("IDActe"), ""), received_on)
        )
    if not wanted:
        return
    # The return channel acts for the members the batch's messages name, and those alone.
    named = sorted({organisation_id for _i, _p, organisation_id, _n, _d in wanted})
    with scope(organisation=named):
        acts = {
            (act.organisation_id, act.identifier): act
            for act in Act.objects.select_for_update()
            .filter(
                organisation_id__in={organisation_id for _i, _p, organisation_id, _n, _d in wanted},
                identifier__in={identifier for _i, _p, _o, identifier, _d in wanted},
            )
            .exclude(identifier="")
            .order_by("pk")
            .only("pk", "organisation_id", "identifier", "status", "received_on")
        }
    changed: dict[int, tuple[Act, str]] = {}
    acknowledged: list[tuple[_Item, int, Act, date]] = []
    announces: list[tuple[int, date, str]] = []
    for item, parsed, organisation_id, identifier, received_on in wanted:
        act = acts.get((organisation_id, identifier))
        if act is None:
            item.reason = "no act of this member has this identifier"
            continue
        unchanged = act.status == ActStatus.ACKNOWLEDGED and act.received_on == received_on
        if not unchanged and not transitions.allowed(act, transitions.Event.ACKNOWLEDGE):
            item.reason = "the act's status does not allow this answer"
            continue
        try:
            announced_on = returns.date_in(parsed.root, element="ClassificationDateVersionEnCours")
        except ValueError as exc:
            item.reason = f"unreadable date: {exc}"[:500]
            continue
        if not unchanged:
            before = str(act.status)
            act.status = transitions.TRANSITIONS[
                (ActStatus(act.status), transitions.Event.ACKNOWLEDGE)
            ]
            act.received_on, act.acknowledged_at, act.updated_at = received_on, now, now
            changed.setdefault(act.pk, (act, before))
            acknowledged.append((item, organisation_id, act, received_on))
        _processed(item, organisation_id, act)
        announces.append((organisation_id, announced_on, item.sha256))
    _write_acknowledgements(changed, acknowledged, now)
    _announce_many(announces)


def _announce_many(announces: list[tuple[int, date, str]]) -> None:
    """``returns.announce_classification`` for each acknowledgement, in order: the members' known
    versions read in one query; ``classification.announce`` only for a newer one."""
    if not announces:
        return
    with scope(organisation=sorted({organisation_id for organisation_id, _on, _s in announces})):
        known = dict(
            ClassificationState.objects.filter(
                organisation_id__in={organisation_id for organisation_id, _on, _s in announces}
            ).values_list("organisation_id", "announced_on")
        )
    for organisation_id, announced_on, sha256 in announces:
        current = known.get(organisation_id)
        if current is not None and current >= announced_on:
            continue
        classification.announce(
            organisation_id=organisation_id, announced_on=announced_on, message_sha256=sha256
        )
        known[organisation_id] = announced_on


def _write_acknowledgements(
    changed: dict[int, tuple[Act, str]],
    acknowledged: list[tuple[_Item, int, Act, date]],
    now: datetime,
) -> None:
    if not changed:
        return
    acts = [act for act, _before in changed.values()]
    with scope(organisation=sorted({act.organisation_id for act in acts})):
        # One UPDATE per status and reception date (one for a batch read the same day):
        # far cheaper than ``bulk_update``'s CASE per row.
        groups: dict[tuple[str, date | None], list[int]] = defaultdict(list)
        for act in acts:
            groups[(str(act.status), act.received_on)].append(act.pk)
        for (status, received_on), pks in groups.items():
            Act.objects.filter(pk__in=pks).update(
                status=status, received_on=received_on, acknowledged_at=now, updated_at=now
            )
        _status_changed(list(changed.values()), now)
        organisations = Organisation.objects.in_bulk(
            {organisation_id for _item, organisation_id, _act, _on in acknowledged}
        )
        record_many(
            [
                PendingEvent(
                    actor=services.RETURN_ACTOR,
                    organisation=organisations[organisation_id],
                    action="legality.act_acknowledged",
                    target=act,
                    payload={
                        "identifier": act.identifier,
                        "received_on": received_on.isoformat(),
                        "message_sha256": item.sha256,
                    },
                )
                for item, organisation_id, act, received_on in acknowledged
            ]
        )
        _queue_stamps(acts)


def _status_changed(changes: list[tuple[Act, str]], now: datetime) -> None:
    """``webhooks.status_changed`` for each act: one delivery per active endpoint of its
    member that wants the event, the endpoints read in one query."""
    endpoints: dict[int, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in WebhookEndpoint.objects.filter(
        organisation_id__in={act.organisation_id for act, _before in changes}, is_active=True
    ):
        endpoints[endpoint.organisation_id].append(endpoint)
    deliveries = []
    for act, before in changes:
        event = f"{webhooks.EVENT_PREFIX}{act.status}"
        for endpoint in endpoints.get(act.organisation_id, []):
            if endpoint.events and event not in endpoint.events:
                continue
            deliveries.append(
                WebhookDelivery(
                    organisation_id=act.organisation_id,
                    endpoint=endpoint,
                    event_id=uuid.uuid4(),
                    event=event,
                    next_attempt_at=now,
                    created_at=now,
                    act_id=act.pk,
                    payload=webhooks.change_payload(before, str(act.status), now),
                )
            )
    WebhookDelivery.objects.bulk_create(deliveries)


def _queue_stamps(acts: list[Act]) -> None:
    """The stamps of the acknowledged acts: with the database task backend, the tasks
    are inserted together, in the batch's transaction (committed with the
    acknowledgements, or not at all); with another backend, ``signals.act_acknowledged``
    is sent for each act once committed, as one by one."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.compat import normalize_json
    from django_tasks_db.models import DBTaskResult, get_date_max

    from . import tasks

    task = tasks.stamp_acknowledged_act
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        for act in acts:
            signals.send_on_commit(
                signals.act_acknowledged, act_id=act.pk, organisation_id=act.organisation_id
            )
        return
    DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs=normalize_json(
                    {
                        "args": [],
                        "kwargs": {"organisation_id": act.organisation_id, "act_id": act.pk},
                    }
                ),
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                # What the backend's pre_save hook (which bulk_create skips) would set.
                run_after=task.run_after or get_date_max(),
                backend_name=backend.alias,
            )
            for act in acts
        ]
    )


# --- Keeping the raw e-mails ----------------------------------------------------------------


# What libmagic reads from an e-mail (0.3 ms a call): a message the return channel could
# parse is one by construction.
EMAIL_TYPE = "message/rfc822"


def _keep_many(entries: list[tuple[bytes, str, bool]]) -> list[StoredFile]:
    """Keep each raw e-mail as a file of the private file store, as
    ``returns.keep_raw`` does, with one ``syncfs`` for them all when the store is the local
    durable file system (another storage, S3, stores each as usual). An entry is
    ``(raw, sha256, parsed)``: the type of a message that could not be parsed is read
    from its bytes, that of a parsed one is ``message/rfc822``."""
    storage = file_storage()
    if not isinstance(storage, DurableFileSystemStorage):
        return [returns.keep_raw(raw, sha256) for raw, sha256, _parsed in entries]
    rows = []
    directories: set[str] = set()
    for raw, sha256, parsed in entries:
        stored_id = uuid.uuid4()
        key = f"{stored_id.hex[:2]}/{stored_id.hex}"
        path = storage.path(key)
        directory = os.path.dirname(path)
        if directory not in directories:
            mode = storage.directory_permissions_mode
            os.makedirs(directory, 0o777 if mode is None else mode, exist_ok=True)
            directories.add(directory)
        # A fresh random key: "x" refuses to replace anything. No reader can see a half
        # written file: no row names it before the batch commits.
        with open(path, "xb") as out:
            out.write(raw)
        if storage.file_permissions_mode is not None:
            os.chmod(path, storage.file_permissions_mode)
        rows.append(
            StoredFile(
                id=stored_id,
                key=key,
                owner_kind=INBOUND_OWNER_KIND,
                owner_ref="",
                original_name=sanitise_name(f"{sha256[:16]}.eml"),
                content_type=EMAIL_TYPE if parsed else sniff_content_type(raw[:SNIFF_BYTES]),
                size=len(raw),
                sha256=sha256,
            )
        )
    sync_file_system(str(storage.location))
    return StoredFile.objects.bulk_create(rows)


def sync_file_system(path: str) -> None:
    """Every write of the file system holding ``path`` on disk: Linux's ``syncfs``
    (one call for the batch's files and directories), else ``sync``."""
    fd = os.open(path, os.O_RDONLY)
    try:
        syncfs: Any = getattr(_LIBC, "syncfs", None) if _LIBC is not None else None
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - every POSIX system has one
    _LIBC = None
