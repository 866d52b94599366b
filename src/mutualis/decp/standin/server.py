"""A stand-in of data.gouv.fr's upload endpoint, for the tests (the portal is not
reachable from here): plain HTTP on a loopback port.

``POST /api/1/datasets/<dataset>/upload/`` with the ``X-API-KEY`` header and a
``multipart/form-data`` body holding the part ``file``: a wrong key is answered ``401``,
an unknown dataset ``404``, a body without a JSON file ``400``; otherwise the file is
kept (``received``: name, parsed JSON) and answered ``201`` with the new resource, as
the portal does. ``fail_next`` (statuses to answer first, without keeping the file)
lets a test see the retries.
"""

from __future__ import annotations

import json
import threading
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 64 * 1024**2


class PortalStandin(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, api_key: str, dataset: str) -> None:
        super().__init__(address, Handler)
        self.api_key = api_key
        self.dataset = dataset
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.keys_seen: list[str] = []
        self.fail_next: list[int] = []

    @property
    def url(self) -> str:
        port = self.server_address[1]
        return f"http://127.0.0.1:{port}/api/1"


def _file_part(content_type: str, body: bytes) -> tuple[str, bytes] | None:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return str(part.get_filename() or ""), payload if isinstance(payload, bytes) else b""
    return None


class Handler(BaseHTTPRequestHandler):
    server: PortalStandin

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY))
        key = self.headers.get("X-API-KEY", "")
        with self.server.lock:
            self.server.keys_seen.append(key)
            failure = self.server.fail_next.pop(0) if self.server.fail_next else None
        if failure is not None:
            self._answer(failure, {"message": "Service unavailable"})
            return
        if key != self.server.api_key:
            self._answer(401, {"message": "Invalid API Key"})
            return
        expected = f"/api/1/datasets/{self.server.dataset}/upload/"
        if self.path != expected:
            self._answer(404, {"message": "Not found"})
            return
        found = _file_part(self.headers.get("Content-Type", ""), body)
        if found is None:
            self._answer(400, {"message": "No file part"})
            return
        name, content = found
        try:
            parsed = json.loads(content)
        except ValueError:
            self._answer(400, {"message": "Not JSON"})
            return
        resource = str(uuid.uuid4())
        with self.server.lock:
            self.server.received.append({"name": name, "json": parsed, "id": resource})
        self._answer(
            201,
            {"id": resource, "title": name, "url": f"{self.server.url}/resources/{resource}"},
        )


def serve(server: PortalStandin) -> threading.Thread:
    """Serve in a daemon thread (the tests); ``server.shutdown()`` stops it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread
