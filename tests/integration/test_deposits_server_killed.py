"""The server killed (SIGKILL) in the middle of 50 concurrent deposits, against a real
server process: gunicorn's sync workers on the test database (PostgreSQL: the test's rows
are committed, the server reads them from its own connections).

After a restart: every deposit whose acknowledgement a client received is acknowledged,
its files whole (size and SHA-256 of the ciphertext as sent) and decryptable to the
plaintext; no deposit whose files did not all arrive is acknowledged or in the public log;
and every interrupted upload resumes at the offset the server gives, and completes."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyrage
import pytest
import requests
from django.conf import settings
from django.db import connection
from django_scopes import scopes_disabled

from mutualis.deposits import receipt_pdf, storage
from mutualis.deposits.models import Deposit, DepositFile, DepositLogEntry, DepositState
from mutualis.evidence import authority
from tests.factories.deposits_api import api_token, representative, sealed_consultation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

COMPANIES = 50
CHUNK = 64 * 1024
# About 200 KB each: four chunks, so that the kill lands between chunks of many.
PLAINTEXT_BYTES = 200_000
KILL_AFTER_ACKNOWLEDGED = 12
API = "/api/v1/deposits"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database_url() -> str:
    params = connection.get_connection_params()
    host, port = params.get("host") or "localhost", params.get("port") or 5432
    password = params.get("password", "")
    return f"postgres://{params['user']}:{password}@{host}:{port}/{params['dbname']}"


def _server_environment(tmp_path: Path) -> dict[str, str]:
    storages_root = settings.STORAGES["files"]["OPTIONS"]["location"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mutualis.settings",
        "DATABASE_URL": _database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "CACHE_URL": "locmemcache://",
        "MUTUALIS_RATE_LIMITS_ENABLED": "false",
        "MUTUALIS_VAR_DIR": str(tmp_path / "server-var"),
        "MUTUALIS_STATIC_ROOT": str(settings.STATIC_ROOT),
        "MUTUALIS_FILES_ROOT": str(storages_root),
        "MUTUALIS_DEPOSIT_DIR": str(settings.MUTUALIS_DEPOSIT_DIR),
        "MUTUALIS_TSA_KEY_PATH": str(settings.MUTUALIS_TSA_KEY_PATH),
        "MUTUALIS_TSA_CERTIFICATE_PATH": str(settings.MUTUALIS_TSA_CERTIFICATE_PATH),
        "MUTUALIS_RECEIPT_SIGNING_KEY_PATH": str(settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH),
        "MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH": str(
            settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH
        ),
        "MUTUALIS_AUDIT_SIGNING_KEY_PATH": str(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH),
        "MUTUALIS_AUDIT_CHECKPOINT_FILE": str(settings.MUTUALIS_AUDIT_CHECKPOINT_FILE),
    }


class Server:
    """gunicorn with sync workers, in a process group of its own (killed whole)."""

    def __init__(self, environment: dict[str, str], port: int) -> None:
        self.environment = environment
        self.base = f"http://127.0.0.1:{port}"
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(  # noqa: S603 - this repository's server
            [str(gunicorn), "mutualis.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "3", "--worker-class", "sync", "--timeout", "60",
             "--log-level", "warning", "--no-control-socket"],
            env=self.environment,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn stopped while starting")
            try:
                # A worker imports most of the application on its first request: slow.
                requests.get(f"{self.base}{API}/none", timeout=30)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


class Bidder:
    """One company's deposit, driven over HTTP, resumable from what the server says."""

    def __init__(self, base: str, token: str, consultation_id: int, recipient: str, n: int):
        self.base, self.n = base, n
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.consultation_id = consultation_id
        self.plaintext = (f"Offre {n:02d} ".encode() * PLAINTEXT_BYTES)[:PLAINTEXT_BYTES]
        self.ciphertext = pyrage.encrypt(
            self.plaintext, [pyrage.x25519.Recipient.from_str(recipient)]
        )
        self.reference: str | None = None
        self.file_id: int | None = None
        self.acknowledged = False
        self.interrupted: str | None = None
        self.resumed_from: int | None = None

    def _call(self, method: str, path: str, key: str, **kwargs) -> dict:
        headers = {"Idempotency-Key": key, **kwargs.pop("headers", {})}
        response = self.session.request(
            method, self.base + path, headers=headers, timeout=30, **kwargs
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")
        return response.json()

    def _send_from(self, offset: int, *, pause: float = 0.0) -> None:
        path = f"{API}/{self.reference}/files/{self.file_id}/content"
        while offset < len(self.ciphertext):
            chunk = self.ciphertext[offset : offset + CHUNK]
            self._call(
                "PUT", f"{path}?offset={offset}", f"c{self.n}-{offset}", data=chunk,
                headers={"Content-Type": "application/octet-stream"},
            )  # fmt: skip
            offset += len(chunk)
            time.sleep(pause)

    def _start(self) -> None:
        body = {"consultation": self.consultation_id}
        self.reference = self._call("POST", API, f"d{self.n}", json=body)["reference"]

    def _declare(self) -> None:
        declared = self._call(
            "POST",
            f"{API}/{self.reference}/files",
            f"f{self.n}",
            json={
                "name": "offre.pdf",
                "content_type": "application/pdf",
                "kind": "offer",
                "plaintext_size": len(self.plaintext),
                "plaintext_sha256": hashlib.sha256(self.plaintext).hexdigest(),
                "ciphertext_size": len(self.ciphertext),
            },
        )
        self.file_id = declared["id"]

    def _complete(self) -> None:
        done = self._call("POST", f"{API}/{self.reference}/complete", f"k{self.n}")
        assert done["state"] == "acknowledged", done
        self.acknowledged = True

    def run(self, *, pause: float) -> None:
        try:
            started = self._call(
                "POST", API, f"d{self.n}", json={"consultation": self.consultation_id}
            )
            self.reference = started["reference"]
            self._declare()
            self._send_from(0, pause=pause)
            self._complete()
        except (requests.RequestException, RuntimeError) as error:
            self.interrupted = str(error)[:200]

    def resume(self) -> None:
        """After the restart: read where the server is, send the rest, complete (the same
        idempotency keys: a call that did arrive is not done twice)."""
        if self.acknowledged:
            return
        if self.reference is None:  # the start itself never came back
            started = self._call(
                "POST", API, f"d{self.n}", json={"consultation": self.consultation_id}
            )
            self.reference = started["reference"]
        if self.file_id is None:
            self._declare()
        deposit = self.session.get(f"{self.base}{API}/{self.reference}", timeout=30).json()
        if deposit["state"] == "receiving":
            (held,) = [f for f in deposit["files"] if f["id"] == self.file_id]
            self.resumed_from = held["received_size"]
            self._send_from(held["received_size"])
        self._complete()


def _stored_ciphertext(reference: str) -> bytes:
    with scopes_disabled():
        row = DepositFile.for_organisation.get(deposit__reference=reference)
    return storage.path_of(row.storage_name).read_bytes()


def test_a_killed_server_loses_no_acknowledged_deposit_and_uploads_resume(
    agent_a, client, tmp_path
):
    authority.ensure_authority()
    receipt_pdf.ensure_signing_key()
    sealed = sealed_consultation(agent_a)
    representatives = [representative(n + 1) for n in range(COMPANIES)]
    tokens = [api_token(client, company=rep.company) for rep in representatives]

    server = Server(_server_environment(tmp_path), _free_port())
    server.start()
    try:
        bidders = [
            Bidder(server.base, tokens[n], sealed.consultation.pk, sealed.recipient, n)
            for n in range(COMPANIES)
        ]
        # Later bidders pause longer between chunks: the kill finds some finished, many
        # between chunks, some not started.
        threads = [
            threading.Thread(target=bidder.run, kwargs={"pause": 0.02 * (n % 10)})
            for n, bidder in enumerate(bidders)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while sum(b.acknowledged for b in bidders) < KILL_AFTER_ACKNOWLEDGED:
            assert time.monotonic() < deadline, [b.interrupted for b in bidders]
            time.sleep(0.01)
        server.kill()
        for thread in threads:
            thread.join(timeout=60)

        acknowledged = {b.reference for b in bidders if b.acknowledged}
        interrupted = [b for b in bidders if not b.acknowledged]
        assert len(acknowledged) >= KILL_AFTER_ACKNOWLEDGED
        assert interrupted, "the kill came after every deposit: nothing was tested"

        # Before the restart, in the database and on disk.
        with scopes_disabled():
            rows = {d.reference: d for d in Deposit.for_organisation.all()}
            logged = set(DepositLogEntry.objects.values_list("deposit_reference", flat=True))
        assert acknowledged <= {r for r, d in rows.items() if d.state == DepositState.ACKNOWLEDGED}
        for reference, deposit in rows.items():
            if deposit.state == DepositState.ACKNOWLEDGED:
                # Acknowledged (its answer may have been lost with the server): whole.
                bidder = next(b for b in bidders if b.reference == reference)
                assert _stored_ciphertext(reference) == bidder.ciphertext
                assert reference in logged
                assert deposit.timestamp_token
            else:
                assert deposit.state == DepositState.RECEIVING
                assert reference not in logged

        server.start()
        for bidder in interrupted:
            bidder.resume()
        with scopes_disabled():
            states = set(Deposit.for_organisation.values_list("state", flat=True))
            assert DepositLogEntry.objects.count() == COMPANIES
        assert states == {DepositState.ACKNOWLEDGED}
        # Some uploads were cut between chunks and went on from the server's offset.
        assert any(0 < (b.resumed_from or 0) < len(b.ciphertext) for b in interrupted), [
            (b.resumed_from, b.interrupted) for b in interrupted
        ]
        for bidder in bidders:
            stored = _stored_ciphertext(bidder.reference)
            assert stored == bidder.ciphertext
            assert pyrage.decrypt(stored, [sealed.identity]) == bidder.plaintext
    finally:
        server.stop()
