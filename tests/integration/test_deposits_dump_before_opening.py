"""Nobody can read a response before the opening, not even from a backup: a dump of the
database (``pg_dump`` on PostgreSQL, SQLite's own dump otherwise) and of every file
store, taken after a deposit is acknowledged and its signed receipt made and mailed,
contains none of the deposit's plaintext. The same search finds the plaintext once the
files are decrypted, so a clean dump says something."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django_scopes import scopes_disabled

from mutualis.deposits import receipt_pdf
from mutualis.deposits.models import Deposit
from mutualis.evidence import authority
from tests.factories.deposits_api import (
    API,
    declare,
    post,
    representative,
    seal,
    sealed_consultation,
    send,
    start,
)

# Committed rows: pg_dump reads the database from another connection.
pytestmark = pytest.mark.django_db(transaction=True)

MARKER = b"OFFRE-CONFIDENTIELLE-7f3a9c prix unitaire 98 765,43 EUR HT"


def needles(secret: bytes) -> list[bytes]:
    """The secret as bytes, as hex (how both dumps write binary columns) and in base64 at
    the three alignments (how JSON and mail attachments carry bytes)."""
    found = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    for shift in range(3):
        encoded = base64.b64encode(secret[shift:])
        found.append(encoded[4 : len(encoded) - 4])
    return found


def database_dump() -> bytes:
    if connection.vendor == "postgresql":
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump (postgresql-client) is installed with PostgreSQL"
        params = connection.get_connection_params()
        environment = {**os.environ, "PGPASSWORD": str(params.get("password") or "")}
        command = [pg_dump, "--no-owner", "--dbname", params["dbname"]]
        for option, key in (("--host", "host"), ("--port", "port"), ("--username", "user")):
            if params.get(key):
                command += [option, str(params[key])]
        dump = subprocess.run(command, env=environment, capture_output=True, check=True)  # noqa: S603
        return dump.stdout
    connection.ensure_connection()
    return "\n".join(connection.connection.iterdump()).encode()


def file_store_roots() -> list[Path]:
    return [
        Path(settings.STORAGES["files"]["OPTIONS"]["location"]),
        Path(settings.MUTUALIS_DEPOSIT_DIR),
        Path(settings.MEDIA_ROOT),
    ]


def file_store_dump() -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for root in file_store_roots()
        if root.exists()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def mail_dump() -> bytes:
    return b"\n".join(message.message().as_bytes() for message in mail.outbox)


def containing(haystack: bytes, secret: bytes) -> list[bytes]:
    return [needle for needle in needles(secret) if needle in haystack]


def test_a_dump_taken_before_the_opening_holds_no_plaintext(
    agent_a, client, django_capture_on_commit_callbacks
):
    authority.ensure_authority()
    receipt_pdf.ensure_signing_key()
    sealed = sealed_consultation(agent_a)
    rep = representative(1)
    client.force_login(rep.user)
    plaintext = b"%PDF-1.7\n" + MARKER + b"\n" + os.urandom(70_000) + MARKER
    with django_capture_on_commit_callbacks(execute=True):
        reference = start(client, sealed.consultation, key="dump-start")
        sealed_file = seal("offre.pdf", plaintext, sealed.recipient)
        file_id = declare(client, reference, sealed_file, key="dump-file")
        send(client, reference, file_id, sealed_file.ciphertext)
        completed = post(client, f"{API}/{reference}/complete", key="dump-complete")
        assert completed.status_code == 200, completed.content
    # The receipt job ran on commit: its signed PDF is stored and mailed.
    with scopes_disabled():
        assert Deposit.for_organisation.get(reference=reference).receipt_pdf_id is not None
    assert any(message.attachments for message in mail.outbox)

    database = database_dump()
    files = file_store_dump()
    mails = mail_dump()
    # The dumps are whole: the deposit's row, its receipt's mail and its ciphertext are in.
    assert reference.encode() in database
    assert reference.encode() in mails
    ciphertexts = [content for content in files.values() if content == sealed_file.ciphertext]
    assert len(ciphertexts) == 1

    assert containing(database, MARKER) == []
    assert containing(mails, MARKER) == []
    assert {str(path): containing(content, MARKER) for path, content in files.items()} == {
        str(path): [] for path in files
    }

    # Control: the same search over what the opening key decrypts finds the marker.
    import pyrage

    opened = pyrage.decrypt(ciphertexts[0], [sealed.identity])
    assert opened == plaintext
    assert containing(opened, MARKER)
