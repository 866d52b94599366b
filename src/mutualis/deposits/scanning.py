"""The virus scanner interface of the opening: a decrypted file is handed to ClamAV's
daemon over its socket (``INSTREAM``: the bytes in length-prefixed pieces, never a path
the daemon would read itself), when the operator configures one
(``MUTUALIS_CLAMD_ADDRESS``: ``unix:/run/clamav/clamd.ctl`` or ``tcp:host:3310``).

A malicious program found is a reason to open the company's backup copy
(``backup_copies``). A scanner that does not answer never stops the opening: the file is
reported "not scanned" and the commission decides. No signature database can be fetched
on the build machine, so the tests speak the protocol to a stand-in daemon; CI does not
exercise a real ClamAV.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
from pathlib import Path

from django.conf import settings

PIECE = 64 * 1024
MAX_ANSWER = 4096


@dataclasses.dataclass(frozen=True)
class ScanResult:
    """``outcome``: "clean", "infected" (``signature`` names what was found),
    "unavailable" (``signature`` says why) or "not_configured"."""

    outcome: str
    signature: str = ""


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("tcp:"):
        host, _sep, port = address[len("tcp:") :].rpartition(":")
        return socket.create_connection((host, int(port)), timeout=timeout)
    path = address[len("unix:") :] if address.startswith("unix:") else address
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    client.connect(path)
    return client


def _answer(client: socket.socket) -> str:
    received = b""
    while not received.endswith(b"\0") and len(received) < MAX_ANSWER:
        piece = client.recv(1024)
        if not piece:
            break
        received += piece
    return received.rstrip(b"\0").decode("utf-8", "replace").strip()


def scan(path: Path) -> ScanResult:
    """Scan the file at ``path`` with the configured daemon."""
    address = str(settings.MUTUALIS_CLAMD_ADDRESS)
    if not address:
        return ScanResult("not_configured")
    try:
        with _connect(address, float(settings.MUTUALIS_CLAMD_TIMEOUT_SECONDS)) as client:
            client.sendall(b"zINSTREAM\0")
            with path.open("rb") as source:
                while piece := source.read(PIECE):
                    client.sendall(struct.pack("!L", len(piece)) + piece)
            client.sendall(struct.pack("!L", 0))
            answer = _answer(client)
    except (OSError, ValueError) as error:
        return ScanResult("unavailable", f"{type(error).__name__}: {error}"[:200])
    # "stream: OK", "stream: Eicar-Test-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
    if answer.endswith(" FOUND"):
        name = answer.removesuffix(" FOUND")
        return ScanResult("infected", name.split(": ", 1)[-1][:200])
    if answer.endswith(": OK"):
        return ScanResult("clean")
    return ScanResult("unavailable", answer[:200] or "no answer")
