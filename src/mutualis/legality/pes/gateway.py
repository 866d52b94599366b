"""The transport of PES flows to the treasury: one interface, two implementations.

- ``SftpGateway``: the treasury's file gateway over SFTP (Paramiko). Key authentication
  only; the gateway's host key is pinned (``MUTUALIS_PES_SFTP_HOST_KEY``, the
  ``known_hosts`` form without the host name): any other key ends the connection before
  authenticating. A flow is deposited atomically: written to ``entree/.{name}.tmp`` then
  renamed to ``entree/{name}`` (the gateway never sees half a file; it ignores dot
  files). A name already present in ``entree/`` is a flow deposited by an earlier attempt
  whose answer was lost: it is not written again. Acknowledgements are collected from
  ``sortie/``, and removed once the platform recorded them.
- ``TreasuryApiChannel``: a placeholder for the treasury's newer channel (an API that
  replaces the file gateway). Its specification is not public yet; it refuses every call
  with ``GatewayError`` so that choosing it by mistake stops the sending instead of
  losing a flow.

No database here: ``sending.py`` decides what an answer does to the flow.
"""

from __future__ import annotations

import base64
import hmac
import io
import posixpath
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Protocol

import paramiko  # type: ignore[import-untyped]
from django.conf import settings


class GatewayError(Exception):
    """The gateway could not be reached or refused an operation (retried later)."""


class HostKeyMismatch(GatewayError):
    """The server's host key is not the pinned one: nothing is sent."""


class Transport(Protocol):
    def deposit(self, name: str, body: IO[bytes]) -> bool:
        """Deposit ``body`` as ``name``; ``False`` when that name was there already."""

    def outbox(self) -> list[str]:
        """The names of the files waiting in the outbox."""

    def fetch(self, name: str, max_bytes: int) -> bytes:
        """The bytes of an outbox file."""

    def remove(self, name: str) -> None:
        """Remove an outbox file once recorded."""


def load_private_key(value: str) -> paramiko.PKey:
    """The operator's key, PEM or OpenSSH format (Ed25519, ECDSA or RSA), given inline
    (a secret read from ``_FILE``) or as a path."""
    text = value
    if not value.lstrip().startswith("-----BEGIN"):
        with open(value, encoding="ascii") as handle:
            text = handle.read()
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise GatewayError("the SFTP private key cannot be read (Ed25519, ECDSA or RSA)")


def host_key_line(key: paramiko.PKey) -> str:
    """A public key in the pinned form: ``"<type> <base64>"``."""
    return f"{key.get_name()} {key.get_base64()}"


def _pinned_matches(pinned: str, key: paramiko.PKey) -> bool:
    parts = pinned.split()
    if len(parts) < 2:
        return False
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        return False
    return parts[0] == key.get_name() and hmac.compare_digest(blob, key.asbytes())


class SftpGateway:
    """One SFTP session with the gateway (a context manager: ``with SftpGateway(…) as g``)."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        key: paramiko.PKey,
        host_key: str,
        *,
        inbox: str = "entree",
        outbox: str = "sortie",
        timeout: float = 30.0,
    ) -> None:
        self.host, self.port, self.user, self.key = host, port, user, key
        self.host_key, self.inbox_dir, self.outbox_dir = host_key, inbox, outbox
        self.timeout = timeout
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> SftpGateway:
        if not self.host_key:
            raise GatewayError("no host key is pinned for the SFTP gateway")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise GatewayError(f"connection: {exc.__class__.__name__}") from exc
        transport = paramiko.Transport(sock)
        self._transport = transport
        try:
            transport.banner_timeout = self.timeout
            transport.start_client(timeout=self.timeout)
            remote = transport.get_remote_server_key()
            if not _pinned_matches(self.host_key, remote):
                raise HostKeyMismatch(
                    f"the gateway's host key ({remote.get_name()}) is not the pinned one"
                )
            transport.auth_publickey(self.user, self.key)
            if not transport.is_authenticated():
                raise GatewayError("authentication refused")
            self._sftp = paramiko.SFTPClient.from_transport(transport)
            if self._sftp is None:
                raise GatewayError("no SFTP channel")
            self._sftp.get_channel().settimeout(self.timeout)
        except GatewayError:
            self.close()
            raise
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise GatewayError(f"SSH: {exc.__class__.__name__}: {exc}"[:300]) from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise GatewayError("not connected")
        return self._sftp

    def _exists(self, path: str) -> bool:
        try:
            self.sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def deposit(self, name: str, body: IO[bytes]) -> bool:
        final = posixpath.join(self.inbox_dir, name)
        temporary = posixpath.join(self.inbox_dir, f".{name}.tmp")
        try:
            if self._exists(final):
                return False
            body.seek(0)
            self.sftp.putfo(body, temporary, confirm=True)
            self.sftp.posix_rename(temporary, final)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise GatewayError(f"deposit: {exc.__class__.__name__}: {exc}"[:300]) from exc
        return True

    def outbox(self) -> list[str]:
        try:
            entries = self.sftp.listdir_attr(self.outbox_dir)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise GatewayError(f"outbox: {exc.__class__.__name__}: {exc}"[:300]) from exc
        return sorted(
            e.filename
            for e in entries
            if not e.filename.startswith(".") and stat.S_ISREG(e.st_mode or 0)
        )

    def fetch(self, name: str, max_bytes: int) -> bytes:
        path = posixpath.join(self.outbox_dir, name)
        try:
            size = self.sftp.stat(path).st_size or 0
            if size > max_bytes:
                raise GatewayError(f"{name}: {size} bytes, over the limit")
            with self.sftp.open(path, "rb") as handle:
                return bytes(handle.read(max_bytes + 1))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise GatewayError(f"fetch: {exc.__class__.__name__}: {exc}"[:300]) from exc

    def remove(self, name: str) -> None:
        try:
            self.sftp.remove(posixpath.join(self.outbox_dir, name))
        except FileNotFoundError:
            return
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise GatewayError(f"remove: {exc.__class__.__name__}: {exc}"[:300]) from exc


class TreasuryApiChannel:
    """Placeholder of the treasury's newer channel (see the module's docstring)."""

    def __enter__(self) -> TreasuryApiChannel:
        raise GatewayError("the treasury's API channel is not available yet: use sftp")

    def __exit__(self, *exc_info: object) -> None:
        return None

    def deposit(self, name: str, body: IO[bytes]) -> bool:
        raise GatewayError("not available")

    def outbox(self) -> list[str]:
        raise GatewayError("not available")

    def fetch(self, name: str, max_bytes: int) -> bytes:
        raise GatewayError("not available")

    def remove(self, name: str) -> None:
        raise GatewayError("not available")


def configured() -> bool:
    return bool(settings.MUTUALIS_PES_SFTP_HOST) or settings.MUTUALIS_PES_TRANSPORT == "api"


@contextmanager
def open_transport() -> Iterator[Transport]:
    """The transport the settings choose, connected."""
    if settings.MUTUALIS_PES_TRANSPORT == "api":
        with TreasuryApiChannel() as channel:
            yield channel
        return
    if not settings.MUTUALIS_PES_SFTP_HOST:
        raise GatewayError("no SFTP gateway is configured")
    gateway = SftpGateway(
        settings.MUTUALIS_PES_SFTP_HOST,
        settings.MUTUALIS_PES_SFTP_PORT,
        settings.MUTUALIS_PES_SFTP_USER,
        load_private_key(settings.MUTUALIS_PES_SFTP_KEY),
        settings.MUTUALIS_PES_SFTP_HOST_KEY,
        inbox=settings.MUTUALIS_PES_SFTP_INBOX,
        outbox=settings.MUTUALIS_PES_SFTP_OUTBOX,
        timeout=float(settings.MUTUALIS_PES_TIMEOUT_SECONDS),
    )
    with gateway:
        yield gateway
