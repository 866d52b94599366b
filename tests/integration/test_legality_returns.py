"""The return channel: the ministry's answers read from the mailbox (a Maildir the
stand-in writes to, and a real IMAP server), routed, processed or quarantined."""

from __future__ import annotations

import imaplib
import mailbox
from email.message import EmailMessage

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled
from lxml import etree

from mutualis.core import files as file_store
from mutualis.core.models import AuditEvent
from mutualis.legality import actes, crossings, returns, tasks, transmission
from mutualis.legality.mailbox import ImapBox
from mutualis.legality.models import ActStatus, InboundMessage, InboundStatus
from tests.factories.legality import ministry_answer
from tests.factories.prefecture_mail import read
from tests.factories.standin import SIREN, fresh, waiting_act

pytestmark = pytest.mark.django_db


def inbound(status: str | None = None) -> list[InboundMessage]:
    with scopes_disabled():
        rows = InboundMessage.objects.all()
        if status:
            rows = rows.filter(status=status)
        return list(rows.select_related("raw"))


def test_the_stand_in_s_acknowledgement_acknowledges_the_act(standin, member, clerk, maildir):
    act = waiting_act(clerk)
    transmission.send_due_acts()
    assert fresh(act).status == ActStatus.SENT

    counts = tasks.read_returns.call()

    assert counts["processed"] == 1
    act = fresh(act)
    assert act.status == ActStatus.ACKNOWLEDGED
    assert act.received_on is not None
    [row] = inbound()
    assert (row.status, row.kind, row.identifier) == ("processed", "ARActe", act.identifier)
    assert row.organisation_id == member.pk
    with file_store.open_stored_file(row.raw) as handle:
        assert act.identifier.encode() in handle.read()
    with scopes_disabled():
        [event] = AuditEvent.objects.filter(
            chain=f"org:{member.pk}", action="legality.act_acknowledged"
        )
    assert event.payload["message_sha256"] == row.sha256
    # The message is done with: the next reading finds nothing new.
    assert read(maildir) == {"processed": 0, "quarantined": 0, "duplicate": 0}


def test_the_acknowledgement_message_is_valid_against_the_schema(standin, member, clerk, maildir):
    act = waiting_act(clerk)
    transmission.send_due_acts()
    [mail] = list(mailbox.Maildir(str(maildir), create=False))
    parsed = returns.parse(mail.as_bytes())
    assert parsed.kind == "ARActe"
    assert parsed.siren == SIREN
    document = etree.tostring(parsed.root, xml_declaration=True, encoding="ISO-8859-1")
    assert actes.schema_errors(document) == []
    assert parsed.root.get(f"{{{actes.ACTES_NS}}}IDActe") == fresh(act).identifier


def test_an_anomaly_puts_the_act_in_error_with_its_text(standin, member, clerk, maildir):
    act = waiting_act(clerk)
    standin.anomalies = {act.number}
    transmission.send_due_acts()

    assert read(maildir)["processed"] == 1

    act = fresh(act)
    assert act.status == ActStatus.ERROR
    assert "pièce manquante" in act.error_reason
    assert inbound()[0].kind == "AnomalieActe"


def test_an_acknowledgement_for_an_unknown_act_is_quarantined(member, maildir):
    box = mailbox.Maildir(str(maildir), create=True)
    box.add(ministry_answer("DEL_2026_999", siren=SIREN))

    assert read(maildir)["quarantined"] == 1

    [row] = inbound(InboundStatus.QUARANTINED)
    assert "no act" in row.reason
    assert row.raw.size > 0
    assert [q["pk"] for q in crossings.quarantine()] == [row.pk]


def test_an_acknowledgement_for_an_unknown_siren_is_quarantined(member, maildir):
    box = mailbox.Maildir(str(maildir), create=True)
    box.add(ministry_answer("DEL_2026_001", siren="999999999"))

    assert read(maildir)["quarantined"] == 1
    assert "999999999" in inbound()[0].reason


def test_an_e_mail_that_is_not_an_actes_message_is_quarantined(maildir):
    mail = EmailMessage()
    mail["From"] = "someone@example.org"
    mail["Subject"] = "Bonjour"
    mail.set_content("Pouvez-vous me rappeler ?")
    mail.add_attachment(b"<note>hello</note>", maintype="text", subtype="xml", filename="a.xml")
    box = mailbox.Maildir(str(maildir), create=True)
    box.add(mail.as_bytes())
    box.add(b"\x00\xff not even an e-mail \x00")

    assert read(maildir)["quarantined"] == 2

    reasons = sorted(row.reason for row in inbound(InboundStatus.QUARANTINED))
    assert "not a valid @ctes message" in reasons[0] or "not a valid @ctes message" in reasons[1]
    assert any("no @ctes message attached" in reason for reason in reasons)


def test_a_message_read_twice_is_processed_once(standin, member, clerk, maildir):
    act = waiting_act(clerk)
    transmission.send_due_acts()
    [raw] = [m.as_bytes() for m in mailbox.Maildir(str(maildir), create=False)]
    # The same message delivered twice (or the mailbox not told before a crash).
    mailbox.Maildir(str(maildir), create=False).add(raw)

    counts = read(maildir)

    assert counts == {"processed": 1, "quarantined": 0, "duplicate": 1}
    assert returns.receive(raw) == "duplicate"
    assert fresh(act).status == ActStatus.ACKNOWLEDGED
    assert len(inbound()) == 1


def _imap_box(server) -> ImapBox:
    return ImapBox(server["host"], server["port"], server["user"], server["password"], ssl=False)


def _empty(server) -> imaplib.IMAP4:
    client = imaplib.IMAP4(server["host"], server["port"])
    client.login(server["user"], server["password"])
    _, [count] = client.select("INBOX")
    if count and int(count) > 0:
        client.store("1:*", "+FLAGS", "(\\Deleted)")
        client.expunge()
    return client


def test_the_imap_mailbox_reads_new_messages_and_marks_them_seen(
    dovecot, standin, member, clerk, maildir, settings
):
    act = waiting_act(clerk)
    transmission.send_due_acts()
    [raw] = [m.as_bytes() for m in mailbox.Maildir(str(maildir), create=False)]
    client = _empty(dovecot)
    client.append("INBOX", None, None, raw)
    client.append("INBOX", None, None, b"Subject: hello\r\n\r\nnot an @ctes message\r\n")
    settings.MUTUALIS_LEGALITY_MAILBOX = "imap"
    settings.MUTUALIS_LEGALITY_IMAP_HOST = dovecot["host"]
    settings.MUTUALIS_LEGALITY_IMAP_PORT = dovecot["port"]
    settings.MUTUALIS_LEGALITY_IMAP_USER = dovecot["user"]
    settings.MUTUALIS_LEGALITY_IMAP_PASSWORD = dovecot["password"]
    settings.MUTUALIS_LEGALITY_IMAP_SSL = False

    counts = tasks.read_returns.call()

    assert counts == {"processed": 1, "quarantined": 1, "duplicate": 0}
    assert fresh(act).status == ActStatus.ACKNOWLEDGED
    # Both are flagged seen: read again, nothing is new.
    box = _imap_box(dovecot)
    assert list(box.new_messages()) == []
    box.close()
    # Flagged unseen again (a crash before the flag): recognised, not processed again.
    client.store("1:*", "-FLAGS", "(\\Seen)")
    box = _imap_box(dovecot)
    assert returns.read_mailbox(box) == {"processed": 0, "quarantined": 0, "duplicate": 2}
    box.close()
    client.logout()


def test_the_imap_server_down_loses_nothing(dovecot, settings):
    settings.MUTUALIS_LEGALITY_MAILBOX = "imap"
    settings.MUTUALIS_LEGALITY_IMAP_HOST = "127.0.0.1"
    settings.MUTUALIS_LEGALITY_IMAP_PORT = 9
    settings.MUTUALIS_LEGALITY_IMAP_SSL = False
    with pytest.raises(ConnectionRefusedError):
        tasks.read_returns.call()
    assert inbound() == []


def test_the_operator_sees_errors_and_the_quarantine(client, member, maildir, operator_staff):
    mail = EmailMessage()
    mail["Message-ID"] = "<lost@example.org>"
    mail["Subject"] = "Bonjour"
    mail.set_content("Pas un message @ctes.")
    mailbox.Maildir(str(maildir), create=True).add(mail.as_bytes())
    read(maildir)
    client.force_login(operator_staff.user)

    page = client.get(reverse("backoffice:legality_monitoring")).content.decode()

    assert "&lt;lost@example.org&gt;" in page
    assert "no @ctes message attached" in page


def test_a_member_s_agent_cannot_open_the_monitoring(client, member, clerk):
    client.force_login(clerk.user)
    assert client.get(reverse("backoffice:legality_monitoring")).status_code == 404


def test_an_empty_message_is_counted_and_left(maildir):
    mailbox.Maildir(str(maildir), create=True).add(b"")

    assert read(maildir)["empty"] == 1
    assert inbound() == []
    assert read(maildir).get("empty", 0) == 0
