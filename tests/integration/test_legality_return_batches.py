"""The return channel in batches (``return_batches``): a batch with failures inside it,
a batch read again after a crash between the commit and the mailbox's flag, a batch
whose transaction fails, the mailboxes' batches, the stamps queued in bulk."""

from __future__ import annotations

import hashlib
import imaplib
import mailbox
from datetime import date
from email.message import EmailMessage
from functools import partial

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_scopes import scopes_disabled

from mutualis.core import audit
from mutualis.core.models import AuditEvent, StoredFile
from mutualis.legality import return_batches, returns
from mutualis.legality.mailbox import ImapBox, MaildirBox, _bodies, uid_set
from mutualis.legality.models import (
    INBOUND_OWNER_KIND,
    Act,
    ActStatus,
    InboundMessage,
    InboundStatus,
)
from tests.factories.legality import ministry_answer
from tests.factories.standin import SIREN, fresh, waiting_act

pytestmark = pytest.mark.django_db


def sent_act(clerk, number: str) -> Act:
    """An act as the transmission leaves it: sent, with its @ctes identifier."""
    act = waiting_act(clerk, number=number)
    with scopes_disabled():
        Act.objects.filter(pk=act.pk).update(
            status=ActStatus.SENT,
            identifier=f"021-{SIREN}-20260203-{number}-DE",
            sent_at=timezone.now(),
        )
    return fresh(act)


# The ministry's acknowledgement (or anomaly) of the stand-in member's act ``number``.
answer = partial(ministry_answer, siren=SIREN)


def rows() -> dict[str, InboundMessage]:
    with scopes_disabled():
        return {row.sha256: row for row in InboundMessage.objects.select_related("raw")}


def acknowledged_events() -> list[AuditEvent]:
    with scopes_disabled():
        return list(AuditEvent.objects.filter(action="legality.act_acknowledged"))


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def test_a_batch_separates_its_failures_and_acknowledges_the_rest(member, clerk):
    first, second = sent_act(clerk, "DEL_A"), sent_act(clerk, "DEL_B")
    waiting = waiting_act(clerk, number="DEL_W")  # not sent: may not be acknowledged
    with scopes_disabled():
        Act.objects.filter(pk=waiting.pk).update(identifier=f"021-{SIREN}-20260203-DEL_W-DE")
    refused = sent_act(clerk, "DEL_R")
    garbage = b"\x00\xff not even an e-mail \x00"
    raws = [
        answer("DEL_A"),
        answer("DEL_UNKNOWN"),
        garbage,
        answer("DEL_A", siren="999999999"),
        answer("DEL_W"),
        answer("DEL_R", anomaly="pièce manquante"),
        answer("DEL_B"),
    ]
    raws.append(raws[0])  # the same message twice in one batch

    outcomes = return_batches.receive_many(raws)

    assert outcomes == [
        "processed",
        "quarantined",
        "quarantined",
        "quarantined",
        "quarantined",
        "processed",
        "processed",
        "duplicate",
    ]
    assert fresh(first).status == fresh(second).status == ActStatus.ACKNOWLEDGED
    assert fresh(first).received_on == date(2026, 2, 4)
    assert fresh(first).acknowledged_at is not None
    assert fresh(waiting).status == ActStatus.WAITING
    assert fresh(refused).status == ActStatus.ERROR  # the anomaly, processed on its own
    found = rows()
    assert len(found) == 7
    reasons = {sha: row.reason for sha, row in found.items()}
    assert reasons[sha256(raws[1])] == "no act of this member has this identifier"
    assert "no @ctes message attached" in reasons[sha256(garbage)]
    assert reasons[sha256(raws[3])] == "no member has the SIREN 999999999"
    assert reasons[sha256(raws[4])] == "the act's status does not allow this answer"
    row = found[sha256(raws[0])]
    assert (row.status, row.kind, row.act_id, row.organisation_id) == (
        InboundStatus.PROCESSED,
        "ARActe",
        first.pk,
        member.pk,
    )
    assert row.identifier == first.identifier
    assert row.message_id.startswith("<")
    assert row.message_id.endswith(">")
    # Every message kept as received, with its SHA-256, in the file store.
    for raw in raws[:7]:
        stored = found[sha256(raw)].raw
        assert (stored.sha256, stored.size) == (sha256(raw), len(raw))
        with return_batches.file_storage().open(stored.key, "rb") as handle:
            assert handle.read() == raw
    assert found[sha256(raws[0])].raw.content_type == "message/rfc822"
    # One event per acknowledged act, on the member's chain, which stays intact.
    events = acknowledged_events()
    assert sorted(e.object_id for e in events) == sorted([str(first.pk), str(second.pk)])
    assert {e.chain for e in events} == {f"org:{member.pk}"}
    assert {e.payload["message_sha256"] for e in events} == {sha256(raws[0]), sha256(raws[6])}
    assert audit.verify_all_chains().ok


def test_the_same_batch_read_again_after_a_crash_acknowledges_nothing_twice(member, clerk):
    act = sent_act(clerk, "DEL_A")
    raws = [answer("DEL_A"), b"Subject: hello\r\n\r\nnot an @ctes message\r\n"]
    assert return_batches.receive_many(raws) == ["processed", "quarantined"]

    assert return_batches.receive_many(raws) == ["duplicate", "duplicate"]

    assert len(rows()) == 2
    assert len(acknowledged_events()) == 1
    assert fresh(act).status == ActStatus.ACKNOWLEDGED


def test_a_crash_before_the_maildir_is_told_leaves_the_batch_new_and_harmless(
    member, clerk, maildir, monkeypatch
):
    act = sent_act(clerk, "DEL_A")
    box = mailbox.Maildir(str(maildir), create=True)
    box.add(answer("DEL_A"))
    box.close()

    def crash(self, keys):
        raise OSError("killed before the flag")

    monkeypatch.setattr(MaildirBox, "done_many", crash)
    with pytest.raises(OSError, match="killed before the flag"):
        returns.read_mailbox(MaildirBox(maildir))
    monkeypatch.undo()

    assert returns.read_mailbox(MaildirBox(maildir)) == {
        "processed": 0,
        "quarantined": 0,
        "duplicate": 1,
    }
    assert len(acknowledged_events()) == 1
    assert fresh(act).status == ActStatus.ACKNOWLEDGED
    assert returns.read_mailbox(MaildirBox(maildir)) == {
        "processed": 0,
        "quarantined": 0,
        "duplicate": 0,
    }


def test_an_anomaly_before_an_acknowledgement_of_the_same_act_keeps_the_mailbox_order(
    member, clerk
):
    act = sent_act(clerk, "DEL_A")
    raws = [answer("DEL_A", anomaly="pièce manquante"), answer("DEL_A")]

    assert return_batches.receive_many(raws) == ["processed", "quarantined"]

    assert fresh(act).status == ActStatus.ERROR
    assert rows()[sha256(raws[1])].reason == "the act's status does not allow this answer"


def test_a_batch_whose_transaction_fails_is_read_one_by_one(member, clerk, monkeypatch):
    first, second = sent_act(clerk, "DEL_A"), sent_act(clerk, "DEL_B")

    def failing(entries):
        raise OperationalError("the batch's write failed")

    monkeypatch.setattr(return_batches, "_keep_many", failing)
    raws = [answer("DEL_A"), answer("DEL_UNKNOWN"), answer("DEL_B")]

    assert return_batches.receive_many(raws) == ["processed", "quarantined", "processed"]

    assert fresh(first).status == fresh(second).status == ActStatus.ACKNOWLEDGED
    assert len(rows()) == 3
    assert len(acknowledged_events()) == 2
    assert audit.verify_all_chains().ok


def test_the_stamps_are_queued_in_bulk_with_the_database_backend(member, clerk, settings):
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    first, second = sent_act(clerk, "DEL_A"), sent_act(clerk, "DEL_B")

    return_batches.receive_many([answer("DEL_A"), answer("DEL_B")])

    queued = DBTaskResult.objects.filter(task_path="mutualis.legality.tasks.stamp_acknowledged_act")
    assert sorted(r.args_kwargs["kwargs"]["act_id"] for r in queued) == sorted(
        [first.pk, second.pk]
    )
    assert {r.args_kwargs["kwargs"]["organisation_id"] for r in queued} == {member.pk}
    assert all(r.task_result.status == "READY" for r in queued)


def test_the_maildir_gives_batches_of_the_size_asked(maildir):
    box = mailbox.Maildir(str(maildir), create=True)
    for n in range(5):
        box.add(f"Subject: {n}\r\n\r\nbody {n}\r\n".encode())
    box.close()
    reader = MaildirBox(maildir)

    batches = list(reader.batches(size=2))

    assert [len(batch) for batch in batches] == [2, 2, 1]
    reader.done_many([message.key for message in batches[0]])
    assert sum(len(batch) for batch in reader.batches(size=2)) == 3


def test_a_message_is_parsed_alike_whatever_its_boundary():
    raw = answer("DEL_A")
    parsed = returns.parse(raw)
    assert returns.constant_boundary(raw) != raw
    # The boundary also inside a part: the message is parsed as received.
    mail = EmailMessage()
    mail["Subject"] = "x"
    mail.set_content("see below")
    mail.add_attachment(b"<a/>", maintype="text", subtype="xml", filename="a.xml")
    mail.as_bytes()  # fixes the boundary
    boundary = mail.get_boundary()
    mail.get_payload()[0].set_content(f"the boundary {boundary} quoted")
    quoted = mail.as_bytes()
    assert returns.constant_boundary(quoted) == quoted
    assert parsed.kind == "ARActe"
    assert parsed.siren == SIREN


def test_uid_sets_and_fetched_bodies():
    assert uid_set([5, 1, 2, 3, 9, 10]) == "1:3,5,9:10"
    assert uid_set([7]) == "7"
    parts = [
        (b"1 (UID 11 BODY[] {3}", b"abc"),
        b")",
        (b"2 (BODY[] {3}", b"def"),
        b" UID 12)",
    ]
    assert _bodies(parts) == {11: b"abc", 12: b"def"}


def test_the_imap_mailbox_fetches_and_flags_a_batch_at_once(dovecot):
    client = imaplib.IMAP4(dovecot["host"], dovecot["port"])
    client.login(dovecot["user"], dovecot["password"])
    _, [count] = client.select("INBOX")
    if count and int(count) > 0:
        client.store("1:*", "+FLAGS", "(\\Deleted)")
        client.expunge()
    sent = [f"Subject: {n}\r\n\r\nbody {n}\r\n".encode() for n in range(5)]
    for raw in sent:
        client.append("INBOX", None, None, raw)
    box = ImapBox(dovecot["host"], dovecot["port"], dovecot["user"], dovecot["password"], ssl=False)

    batches = list(box.batches(size=2))

    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert [m.raw for batch in batches for m in batch] == sent
    box.done_many([m.key for m in batches[0] + batches[1]])
    assert [m.raw for batch in box.batches() for m in batch] == sent[4:]
    box.close()
    client.logout()


def test_the_kept_e_mails_belong_to_the_return_channel(member, clerk):
    sent_act(clerk, "DEL_A")
    return_batches.receive_many([answer("DEL_A")])
    [row] = rows().values()
    assert StoredFile.objects.get(pk=row.raw_id).owner_kind == INBOUND_OWNER_KIND
