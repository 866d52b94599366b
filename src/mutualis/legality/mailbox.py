"""The return channel's mailbox: one interface, two implementations.

- ``MaildirBox``: a local Maildir (the demo, where the ministry's stand-in delivers;
  needs nothing but Python). New messages are in ``new/``; a message done with moves to
  ``cur/``.
- ``ImapBox``: an IMAP mailbox (production), over TLS by default, with the standard
  library's ``imaplib``. The messages not yet flagged ``\\Seen`` are read; a message
  done with is flagged ``\\Seen``.

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


class Mailbox(Protocol):
    def new_messages(self) -> Iterator[Message]: ...

    def done(self, key: str) -> None: ...

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

    def done(self, key: str) -> None:
        message = self.box.get_message(key)
        if message.get_subdir() == "new":
            message.set_subdir("cur")
            message.add_flag("S")
            self.box[key] = message

    def close(self) -> None:
        self.box.close()


_UID = re.compile(rb"UID (\d+)")


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

    def done(self, key: str) -> None:
        self.client.uid("STORE", key, "+FLAGS", "(\\Seen)")

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
