"""A stand-in for ClamAV's daemon: it speaks ``zINSTREAM`` on a Unix or TCP socket, in a
thread, and finds the EICAR test string (the antivirus industry's harmless test file)."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Split so that no scanner of this repository flags the test file itself.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = connection.recv(size - len(data))
        if not piece:
            raise ConnectionError("closed")
        data += piece
    return data


def _serve(server: socket.socket, answer_override: bytes | None, seen: list[bytes]) -> None:
    while True:
        try:
            connection, _address = server.accept()
        except OSError:
            return
        with connection:
            try:
                command = _read_exactly(connection, len(b"zINSTREAM\0"))
                assert command == b"zINSTREAM\0", command
                body = b""
                while size := struct.unpack("!L", _read_exactly(connection, 4))[0]:
                    body += _read_exactly(connection, size)
                seen.append(body)
                if answer_override is not None:
                    connection.sendall(answer_override)
                elif EICAR in body:
                    connection.sendall(b"stream: Eicar-Test-Signature FOUND\0")
                else:
                    connection.sendall(b"stream: OK\0")
            except (ConnectionError, AssertionError):
                pass


@contextmanager
def clamd(
    directory: Path | None = None, *, tcp: bool = False, answer: bytes | None = None
) -> Iterator[tuple[str, list[bytes]]]:
    """A running stand-in: its address for MUTUALIS_CLAMD_ADDRESS, and what it was sent."""
    if tcp:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        address = f"tcp:127.0.0.1:{server.getsockname()[1]}"
    else:
        assert directory is not None
        path = directory / "clamd.ctl"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(path))
        address = f"unix:{path}"
    server.listen(8)
    seen: list[bytes] = []
    thread = threading.Thread(target=_serve, args=(server, answer, seen), daemon=True)
    thread.start()
    try:
        yield address, seen
    finally:
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)  # wakes the accept() up
        server.close()
        thread.join(timeout=5)
