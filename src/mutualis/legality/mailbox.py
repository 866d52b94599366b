"""The return channel's mailbox: one interface, two implementations.

- ``MaildirBox``: a local Maildir (the demo, where the ministry's stand-in delivers;
  needs nothing but Python). New messages are in ``new/``; a message done with moves to
  ``cur/``.
- ``ImapBox``: an IMAP mailbox (production), over TLS by default, with the standard
  library's ``imaplib``. The messages not yet flagged ``\\Seen`` are read; a message
  done with is flagged ``\\Seen``.

The return channel reads in batches (``batches``: up to ``size`` messages and about
``max_bytes`` bytes each; over IMAP, one ``UID FETCH`` per batch) and marks a batch
done at once (``done_many``: one ``UID STORE``).

A message is marked done only after it was processed or quarantined and committed; a
crash in between leaves it new, and reading it again is harmless (the return channel
recognises a message by its SHA-256).
"""

from __future__ import annotations

import dataclasses
import imaplib
import mailbox
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from django.conf import settings


@dataclasses.dataclass(frozen=True)
class Message:
    key: str
    raw: bytes


# A batch: this many messages at most, and about this many bytes (a message larger than
# this makes a batch of its own).
BATCH_SIZE = 500
BATCH_BYTES = 64 * 1024**2


class Mailbox(Protocol):
    def new_messages(self) -> Iterator[Message]: ...

    def batches(
        self, size: int = BATCH_SIZE, max_bytes: int = BATCH_BYTES
    ) -> Iterator[list[Message]]: ...

    def done(self, key: str) -> None: ...

    def done_many(self, keys: list[str]) -> None: ...

    def close(self) -> None: ...


class MaildirBox:
    def __init__(self, path: Path) -> None:
        self.box = mailbox.Maildir(str(path), factory=None, create=True)

    def new_messages(self) -> Iterator[Message]:
        new = Path(self.box._path) / "new"
        for entry in sorted(new.iterdir()) if new.is_dir() else []:
            if entry.name.startswith("."):
                continue
            key = entry.name.split(mailbox.Maildir.colon)[0]
            yield Message(key, entry.read_bytes())

    def batches(
        self, size: int = BATCH_SIZE, max_bytes: int = BATCH_BYTES
    ) -> Iterator[list[Message]]:
        batch: list[Message] = []
        held = 0
        for message in self.new_messages():
            if batch and (len(batch) >= size or held + len(message.raw) > max_bytes):
                yield batch
                batch, held = [], 0
            batch.append(message)
            held += len(message.raw)
        if batch:
            yield batch

    def done_many(self, keys: list[str]) -> None:
        for key in keys:
            self.done(key)

    def done(self, key: str) -> None:
        message = self.box.get_message(key)
        if message.get_subdir() == "new":
            message.set_subdir("cur")
            message.add_flag("S")
            self.box[key] = message

    def close(self) -> None:
        self.box.close()


_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def uid_set(uids: list[int]) -> str:
    """An IMAP UID set naming ``uids``, runs written ``a:b`` (``1:3,7,9:12``)."""
    runs: list[list[int]] = []
    for uid in sorted(set(uids)):
        if runs and uid == runs[-1][1] + 1:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    return ",".join(str(first) if first == last else f"{first}:{last}" for first, last in runs)


def _bodies(parts: list[object]) -> dict[int, bytes]:
    """The bodies of a ``UID FETCH … (BODY.PEEK[])`` answer, by UID (which a server may
    give before the body, or after it)."""
    found: dict[int, bytes] = {}
    waiting: bytes | None = None
    for part in parts:
        if isinstance(part, tuple) and len(part) == 2:
            uid = _UID.search(part[0])
            if uid:
                found[int(uid.group(1))] = bytes(part[1])
                waiting = None
            else:
                waiting = bytes(part[1])
        elif isinstance(part, bytes) and waiting is not None:
            uid = _UID.search(part)
            if uid:
                found[int(uid.group(1))] = waiting
            waiting = None
    return found


# UIDs asked about in one command (servers bound a command's length).
_UIDS_PER_COMMAND = 1000


class ImapBox:
    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        ssl: bool = True,
        folder: str = "INBOX",
        timeout: float = 60,
    ) -> None:
        client_class = imaplib.IMAP4_SSL if ssl else imaplib.IMAP4
        self.client = client_class(host, port, timeout=timeout)
        self.client.login(user, password)
        status, _ = self.client.select(folder)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot select {folder!r}")

    def new_messages(self) -> Iterator[Message]:
        status, data = self.client.uid("SEARCH", "UNSEEN")
        if status != "OK":
            raise imaplib.IMAP4.error("SEARCH failed")
        uids = data[0].split() if data and data[0] else []
        for uid in uids:
            # BODY.PEEK: reading does not flag the message; done() does, once committed.
            status, parts = self.client.uid("FETCH", uid, "(BODY.PEEK[])")
            if status != "OK":
                continue
            for part in parts:
                if isinstance(part, tuple) and len(part) == 2:
                    yield Message(uid.decode(), bytes(part[1]))
                    break

    def _unseen(self) -> list[int]:
        status, data = self.client.uid("SEARCH", "UNSEEN")
        if status != "OK":
            raise imaplib.IMAP4.error("SEARCH failed")
        return [int(uid) for uid in data[0].split()] if data and data[0] else []

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        sizes = {}
        for start in range(0, len(uids), _UIDS_PER_COMMAND):
            chosen = uid_set(uids[start : start + _UIDS_PER_COMMAND])
            status, data = self.client.uid("FETCH", chosen, "(RFC822.SIZE)")
            if status != "OK":
                raise imaplib.IMAP4.error("FETCH failed")
            for line in data:
                text = line[0] if isinstance(line, tuple) else line
                if not isinstance(text, bytes):
                    continue
                uid, size = _UID.search(text), _SIZE.search(text)
                if uid and size:
                    sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def batches(
        self, size: int = BATCH_SIZE, max_bytes: int = BATCH_BYTES
    ) -> Iterator[list[Message]]:
        """The unseen messages, one ``UID FETCH`` of their full bodies per batch; the
        sizes the server gives (one ``UID FETCH (RFC822.SIZE)``) bound each batch's
        bytes. Messages expunged meanwhile are simply missing."""
        uids = self._unseen()
        if not uids:
            return
        sizes = self._sizes(uids)
        planned: list[list[int]] = [[]]
        held = 0
        for uid in uids:
            if uid not in sizes:
                continue
            if planned[-1] and (len(planned[-1]) >= size or held + sizes[uid] > max_bytes):
                planned.append([])
                held = 0
            planned[-1].append(uid)
            held += sizes[uid]
        for chosen in planned:
            if not chosen:
                continue
            # BODY.PEEK: reading does not flag the messages; done_many() does, once
            # committed.
            status, parts = self.client.uid("FETCH", uid_set(chosen), "(BODY.PEEK[])")
            if status != "OK":
                raise imaplib.IMAP4.error("FETCH failed")
            by_uid = _bodies(parts)
            yield [Message(str(uid), by_uid[uid]) for uid in chosen if uid in by_uid]

    def done(self, key: str) -> None:
        self.client.uid("STORE", key, "+FLAGS", "(\\Seen)")

    def done_many(self, keys: list[str]) -> None:
        uids = [int(key) for key in keys]
        for start in range(0, len(uids), _UIDS_PER_COMMAND):
            chosen = uid_set(uids[start : start + _UIDS_PER_COMMAND])
            self.client.uid("STORE", chosen, "+FLAGS.SILENT", "(\\Seen)")

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            self.client.logout()


def open_mailbox() -> Mailbox:
    """The mailbox the settings name (``MUTUALIS_LEGALITY_MAILBOX``)."""
    kind = settings.MUTUALIS_LEGALITY_MAILBOX.strip().lower()
    if kind == "imap":
        return ImapBox(
            settings.MUTUALIS_LEGALITY_IMAP_HOST,
            settings.MUTUALIS_LEGALITY_IMAP_PORT,
            settings.MUTUALIS_LEGALITY_IMAP_USER,
            settings.MUTUALIS_LEGALITY_IMAP_PASSWORD,
            ssl=settings.MUTUALIS_LEGALITY_IMAP_SSL,
            folder=settings.MUTUALIS_LEGALITY_IMAP_FOLDER,
        )
    if kind == "maildir":
        return MaildirBox(Path(settings.MUTUALIS_LEGALITY_MAILDIR))
    raise ValueError("MUTUALIS_LEGALITY_MAILBOX must be 'maildir' or 'imap'")
