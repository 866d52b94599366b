"""A slow or stalled SMTP server never stalls the platform's writes (issue 12, Trust II).

A real SMTP conversation with a local server in a thread: it accepts the message, then
holds the reply to DATA. The sender times out after EMAIL_TIMEOUT; meanwhile another
thread writes to the database, the outgoing row included, without waiting on any lock.
Runs on SQLite and on PostgreSQL (DATABASE_URL).
"""

from __future__ import annotations

import contextlib
import email
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from mutualis.core import mail
from mutualis.core.models import OutgoingEmail, Service

pytestmark = pytest.mark.django_db(transaction=True)


class StallingSMTPServer:
    """Speaks just enough SMTP; with ``stall`` set, never answers the end of DATA."""

    def __init__(self, *, stall: bool) -> None:
        self.stall = stall
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.messages: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self._stop = threading.Event()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self._stop.set()
        self.thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError):
                    self._conversation(conn)

    def _conversation(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 localhost ESMTP test\r\n")
        while True:
            line = reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-localhost\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                data = b""
                while True:
                    chunk = reader.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk
                self.messages.append(data)
                if self.stall:
                    self.stalled.set()
                    # Holds the reply until the test is done: the client times out.
                    self.release.wait(30)
                    return
                conn.sendall(b"250 queued\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:  # MAIL, RCPT, RSET, NOOP
                conn.sendall(b"250 ok\r\n")


@pytest.fixture
def smtp_server(settings) -> Iterator[StallingSMTPServer]:
    server = StallingSMTPServer(stall=True)
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 1
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_send_on_commit(monkeypatch) -> None:
    # The sending job is not run when the request commits: each test calls deliver.
    monkeypatch.setattr("django.db.transaction.on_commit", lambda fn, using=None: None)


def _queue(secret_link: str = "") -> OutgoingEmail:
    # Written as a request would: committed.
    with transaction.atomic():
        row = mail.queue_email(
            to="camille@example.org",
            subject="Invitation",
            body_text=f"Open {secret_link or 'the page'}",
            secrets=[secret_link] if secret_link else [],
        )
    return row


def _deliver_in_thread(email_id: int) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["email"] = mail.deliver(email_id)
        except BaseException as exc:  # reported to the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_writes_go_on_while_the_smtp_server_stalls(smtp_server, on_postgres):
    # Given a queued e-mail and an SMTP server that will hold its reply to DATA
    row = _queue()
    sender, outcome = _deliver_in_thread(row.pk)
    assert smtp_server.stalled.wait(10), "the server never received the message"

    # When another thread writes while the send is stalled
    def write() -> None:
        with transaction.atomic():
            # The outgoing row itself is not locked (nowait raises on PostgreSQL if it
            # is; on SQLite the write would fail with "database is locked").
            OutgoingEmail.objects.select_for_update(nowait=True).get(pk=row.pk)
            Service.objects.filter(pk__in=[]).update(name="x")
            OutgoingEmail.objects.filter(pk=row.pk).update(headers={"X-Touched": "yes"})
        if on_postgres:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
                )
                assert cursor.fetchone()[0] == 0, "the sender holds a transaction open"

    try:
        write()
    except OperationalError as exc:  # pragma: no cover - the regression itself
        pytest.fail(f"a write failed while the SMTP server stalled: {exc}")

    # Then the send ends with a recorded timeout, retried later
    sender.join(30)
    assert not sender.is_alive()
    assert "error" not in outcome, outcome.get("error")
    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.QUEUED
    assert row.attempts == 1
    assert "timed out" in row.last_error.lower() or "timeout" in row.last_error.lower()
    assert row.next_attempt_at > timezone.now()
    assert row.claimed_until is None
    assert row.headers == {"X-Touched": "yes"}


def test_a_retry_after_a_stall_sends_the_same_message_id(smtp_server):
    row = _queue()
    mail.deliver(row.pk)  # stalls, times out
    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.QUEUED

    smtp_server.stall = False
    smtp_server.release.set()
    mail.deliver(row.pk)
    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.SENT
    assert row.attempts == 2
    first, second = (email.message_from_bytes(m) for m in smtp_server.messages)
    assert first["Message-ID"] == second["Message-ID"] == row.message_id
    assert row.message_id.endswith("@localhost>")  # the host of MUTUALIS_SITE_URL


def test_a_stalled_send_keeps_the_link_sealed_for_the_retry(smtp_server):
    link = "http://localhost:8000/invitations/1-SECRETTOKEN/"
    row = _queue(secret_link=link)
    mail.deliver(row.pk)  # times out: the link must survive for the next attempt
    smtp_server.stall = False
    smtp_server.release.set()
    mail.deliver(row.pk)
    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.SENT
    assert all(link.encode() in m for m in smtp_server.messages)
    assert "SECRETTOKEN" not in str(OutgoingEmail.objects.filter(pk=row.pk).values().get())


def test_a_claim_left_by_a_dead_worker_expires_and_the_email_is_sent(settings):
    # Given an e-mail claimed by a worker that died before recording anything
    row = _queue()
    OutgoingEmail.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=5), claim_token="dead", attempts=1
    )
    # While the claim runs, no other worker takes it
    assert mail.deliver(row.pk) is None
    assert row.pk not in mail.due_email_ids()
    # Once it expired, the retry job sends it
    OutgoingEmail.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert row.pk in mail.due_email_ids()
    sent = mail.deliver(row.pk)
    assert sent is not None
    assert sent.status == OutgoingEmail.Status.SENT
    assert sent.attempts == 2


def test_an_abandoned_last_attempt_is_failed_and_its_links_wiped(settings):
    settings.MUTUALIS_EMAIL_MAX_ATTEMPTS = 2
    row = _queue(secret_link="http://localhost:8000/invitations/1-ABANDONED/")
    OutgoingEmail.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1), claim_token="dead", attempts=2
    )
    assert mail.fail_abandoned_emails() == 1
    row.refresh_from_db()
    assert row.status == OutgoingEmail.Status.FAILED
    assert row.sealed_secrets == ""
    assert row.links_removed
