"""The stand-in of the treasury's file gateway, for the demo and the tests: an SFTP
server (Paramiko) on a loopback port, backed by a local directory with ``entree/`` and
``sortie/``.

It accepts one user with one public key (``keys()`` makes the host key and the
operator's key). A flow deposited in ``entree/`` is taken after ``delay`` seconds:
checked against the PES_Aller schema and answered by a ``PES_ACQUIT`` written into
``sortie/`` (atomically: a dot file renamed). Every bordereau is accepted except those
whose number (``IdBord``) is in ``anomalies``, answered KO with a codification anomaly,
as Helios does; a flow that is not a valid PES_Aller is answered with a technical KO
(when its ``NomFic`` can be read) or left in ``rejected``.

It also plays the treasury's returns: ``drop_retour`` writes a ``PES_Retour`` into
``sortie/`` (atomically), and a ``PES_ACQUIT_RETOUR`` deposited in ``entree/`` is checked
against its schema and taken (``acquits_retour``) — never answered with a PES_ACQUIT —
or, invalid, left in ``rejected``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import socket
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import paramiko  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.utils import timezone

from . import flows
from .gateway import host_key_line

log = logging.getLogger(__name__)

ANOMALY_CODE = "ERREUR_CODIFICATION"
ANOMALY_LABEL = (
    "Imputation inconnue : la nature 6067 n'est pas ouverte au budget pour l'exercice "
    "(bordereau rejeté, à corriger et à transmettre de nouveau)."
)
_NOMFIC = re.compile(rb'<NomFic\s+V="([^"]{1,100})"')
_IDCOLL = re.compile(rb'<IdColl\s+V="([0-9]{14})"')
_ACQUIT_RETOUR = re.compile(rb"<([A-Za-z_][\w.-]*:)?PES_ACQUIT_RETOUR[\s>]")
_RETOUR_NOMFIC = re.compile(r"[^A-Za-z0-9_.-]")


def drop_retour(root: Path, content: bytes, name: str = "") -> str:
    """Write a ``PES_Retour`` into the gateway directory ``root``'s ``sortie/`` (a dot
    file renamed: the platform never collects half a file), under ``name`` or the
    return's own ``NomFic``; the name used. Works with the server stopped (the demo's
    seeding drops one before the stand-in starts)."""
    if not name:
        found = _NOMFIC.search(content)
        name = found.group(1).decode("utf-8", "replace") if found else "PES_Retour.xml"
    name = _RETOUR_NOMFIC.sub("_", name).lstrip(".") or "PES_Retour.xml"
    outbox = root / "sortie"
    outbox.mkdir(parents=True, exist_ok=True)
    temporary = outbox / f".{name}.tmp"
    temporary.write_bytes(content)
    temporary.replace(outbox / name)
    return name


@dataclasses.dataclass(frozen=True)
class Keys:
    directory: Path

    @property
    def host_key(self) -> Path:
        return self.directory / "host_ed25519"

    @property
    def client_key(self) -> Path:
        return self.directory / "client_ed25519"

    def host_public(self) -> str:
        return host_key_line(paramiko.Ed25519Key.from_private_key_file(str(self.host_key)))

    def client_public(self) -> paramiko.PKey:
        return paramiko.Ed25519Key.from_private_key_file(str(self.client_key))


def keys(directory: Path) -> Keys:
    """The host key and the operator's key, OpenSSH files in ``directory`` (made once)."""
    made = Keys(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for path in (made.host_key, made.client_key):
        if path.exists():
            continue
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    return made


class _Server(paramiko.ServerInterface):  # type: ignore[misc]
    def __init__(self, user: str, key: paramiko.PKey) -> None:
        self.user, self.key = user, key

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if username == self.user and key.asbytes() == self.key.asbytes():
            return int(paramiko.AUTH_SUCCESSFUL)
        return int(paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return int(paramiko.OPEN_SUCCEEDED)
        return int(paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)

    def check_channel_subsystem_request(self, channel: Any, name: str) -> bool:
        return bool(super().check_channel_subsystem_request(channel, name))


class _Handle(paramiko.SFTPHandle):  # type: ignore[misc]
    def stat(self) -> Any:
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def chattr(self, attr: Any) -> int:
        return int(paramiko.SFTP_OK)


class _Files(paramiko.SFTPServerInterface):  # type: ignore[misc]
    """The directory as an SFTP tree; no path leaves it."""

    def __init__(self, server: Any, *args: Any, root: str, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.root = os.path.realpath(root)

    def _path(self, path: str) -> str:
        resolved = os.path.realpath(os.path.join(self.root, self.canonicalize(path).lstrip("/")))
        if resolved != self.root and not resolved.startswith(self.root + os.sep):
            raise PermissionError(13, "outside the gateway")
        return resolved

    def _call(self, function: Any) -> Any:
        try:
            return function()
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno or 13)

    def list_folder(self, path: str) -> Any:
        def run() -> list[paramiko.SFTPAttributes]:
            folder = self._path(path)
            result = []
            for name in os.listdir(folder):
                attributes = paramiko.SFTPAttributes.from_stat(os.stat(os.path.join(folder, name)))
                attributes.filename = name
                result.append(attributes)
            return result

        return self._call(run)

    def stat(self, path: str) -> Any:
        return self._call(lambda: paramiko.SFTPAttributes.from_stat(os.stat(self._path(path))))

    lstat = stat

    def open(self, path: str, flags: int, attr: Any) -> Any:
        def run() -> _Handle:
            real = self._path(path)
            descriptor = os.open(real, flags | getattr(os, "O_BINARY", 0), 0o644)
            if flags & os.O_WRONLY:
                mode = "ab" if flags & os.O_APPEND else "wb"
            elif flags & os.O_RDWR:
                mode = "a+b" if flags & os.O_APPEND else "r+b"
            else:
                mode = "rb"
            handle = _Handle(flags)
            handle.filename = real
            handle.readfile = handle.writefile = os.fdopen(descriptor, mode)
            return handle

        return self._call(run)

    def remove(self, path: str) -> Any:
        def run() -> int:
            os.remove(self._path(path))
            return int(paramiko.SFTP_OK)

        return self._call(run)

    def rename(self, oldpath: str, newpath: str) -> Any:
        def run() -> int:
            target = self._path(newpath)
            if os.path.exists(target):
                return int(paramiko.SFTP_FAILURE)
            os.rename(self._path(oldpath), target)
            return int(paramiko.SFTP_OK)

        return self._call(run)

    def posix_rename(self, oldpath: str, newpath: str) -> Any:
        def run() -> int:
            os.replace(self._path(oldpath), self._path(newpath))
            return int(paramiko.SFTP_OK)

        return self._call(run)

    def mkdir(self, path: str, attr: Any) -> Any:
        def run() -> int:
            os.mkdir(self._path(path))
            return int(paramiko.SFTP_OK)

        return self._call(run)

    def chattr(self, path: str, attr: Any) -> int:
        return int(paramiko.SFTP_OK)


class GatewayStandin:
    """The server: ``start()`` listens and processes in threads, ``stop()`` ends both."""

    def __init__(
        self,
        root: Path,
        key_directory: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "mutualis",
        delay: float = 1.0,
        tick: float = 0.2,
    ) -> None:
        self.root = root
        self.keys = keys(key_directory)
        self.user = user
        self.delay, self.tick = delay, tick
        (root / "entree").mkdir(parents=True, exist_ok=True)
        (root / "sortie").mkdir(parents=True, exist_ok=True)
        self.host_key = paramiko.Ed25519Key.from_private_key_file(str(self.keys.host_key))
        self.socket = socket.create_server((host, port))
        self.socket.settimeout(0.2)
        self.host, self.port = self.socket.getsockname()[:2]
        self.anomalies: set[str] = set()
        self.received: list[str] = []
        self.acquits_retour: list[str] = []
        self.rejected: list[str] = []
        self.connections = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._transports: list[paramiko.Transport] = []

    @property
    def host_public_key(self) -> str:
        return host_key_line(self.host_key)

    def start(self) -> GatewayStandin:
        for target in (self._accept, self._process_loop):
            thread = threading.Thread(
                target=target, daemon=True, name=f"pes-standin-{target.__name__}"
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for transport in self._transports:
            transport.close()
        self.socket.close()

    def _accept(self) -> None:
        client_key = self.keys.client_public()
        while not self._stop.is_set():
            try:
                connection, _address = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            transport = paramiko.Transport(connection)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler(
                "sftp", paramiko.SFTPServer, _Files, root=str(self.root)
            )
            try:
                transport.start_server(server=_Server(self.user, client_key))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()
                continue
            self._transports.append(transport)

    def _process_loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.process(older_than=self.delay)
            except Exception:
                log.exception("pes stand-in: processing failed")

    def process(self, *, older_than: float = 0.0) -> int:
        """Answer every deposited flow older than ``older_than`` seconds; how many."""
        done = 0
        inbox = self.root / "entree"
        for path in sorted(inbox.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            if time.time() - path.stat().st_mtime < older_than:
                continue
            data = path.read_bytes()
            if _ACQUIT_RETOUR.search(data[:4096]):
                self._take_acquit_retour(path.name, data)
                path.unlink()
                done += 1
                continue
            answer = self.acquit(data)
            if answer is not None:
                name, content = answer
                temporary = self.root / "sortie" / f".{name}.tmp"
                temporary.write_bytes(content)
                temporary.replace(self.root / "sortie" / name)
                self.received.append(path.name)
            else:
                self.rejected.append(path.name)
            path.unlink()
            done += 1
        return done

    def _take_acquit_retour(self, name: str, data: bytes) -> None:
        try:
            flows.read_acquit_retour(data)
        except flows.FormatError as exc:
            log.warning("pes stand-in: %s is not a valid PES_ACQUIT_RETOUR: %s", name, exc)
            self.rejected.append(name)
            return
        self.acquits_retour.append(name)

    def drop_retour(self, content: bytes, name: str = "") -> str:
        """Drop a ``PES_Retour`` in ``sortie/``, as Helios does; its name there."""
        return drop_retour(self.root, content, name)

    def acquit(self, data: bytes) -> tuple[str, bytes] | None:
        today = timezone.localdate()
        try:
            aller = flows.read_aller(data)
        except flows.FormatError as exc:
            nomfic, id_coll = _NOMFIC.search(data), _IDCOLL.search(data)
            if nomfic is None or id_coll is None:
                return None
            aller = flows.Aller(
                nomfic.group(1).decode("utf-8", "replace"),
                "PESALR1",
                id_coll.group(1).decode(),
                "001",
                "00",
                "0000000",
                None,
                [],
                {},
                [],
                False,
                0,
            )
            element = flows.AckElement(
                "technique", False, anomaly="ERREUR_SCHEMA_INCOMPLET", label=exc.reason[:500]
            )
            return self._named(aller, [element], today)
        elements = [flows.AckElement("technique", True)]
        for bordereau in aller.bordereaux:
            if bordereau.number in self.anomalies:
                elements.append(
                    flows.AckElement(
                        bordereau.domain,
                        False,
                        year=bordereau.year,
                        bordereau=bordereau.number,
                        anomaly=ANOMALY_CODE,
                        label=ANOMALY_LABEL,
                    )
                )
            else:
                elements.append(
                    flows.AckElement(
                        bordereau.domain, True, year=bordereau.year, bordereau=bordereau.number
                    )
                )
        return self._named(aller, elements, today)

    def _named(
        self, aller: flows.Aller, elements: list[flows.AckElement], today: date
    ) -> tuple[str, bytes]:
        content = flows.write_acquit(aller, elements, day=today)
        return flows.acquit_name(aller.nomfic, timezone.now()), content
