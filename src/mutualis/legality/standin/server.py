"""The stand-in of the ministry's @ctes endpoint: HTTPS, the client's certificate
required and checked against the test CA (``pki.py``).

``POST`` of a package (the body; its name in ``Content-Disposition``): the archive is
opened, its envelope and act message checked against the @ctes schema and the files
they name looked for. A valid package is answered ``201`` (``200`` in the legacy
protocol) and its ``ARActe`` is written, as an e-mail to the envelope's return address,
into the Maildir the platform's return channel reads. An invalid one is answered ``400``
with the reason.

The package's name is the transmission's key: a name already received is answered as
accepted again without a second transmission (no second acknowledgement) — what the
platform counts on after a timeout.

For the tests, ``fail_next`` (statuses to answer first, without taking the package),
``delay_next`` (seconds to wait after taking the next package, before answering) and
``anomalies`` (internal numbers answered by an ``AnomalieActe``) change its behaviour.
"""

from __future__ import annotations

import io
import logging
import mailbox
import re
import ssl
import tarfile
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from django.utils import timezone
from lxml import etree

from .. import actes
from . import messages
from .pki import Pki

log = logging.getLogger(__name__)

MAX_BODY = 160 * 1024**2
NAME = re.compile(r'filename="([A-Za-z0-9_]+-[A-Za-z0-9_]+--[0-9]{9}--[0-9]{8}-[0-9]+\.tar\.gz)"')
SENDER = "actes@ministere.standin.localhost"


class Invalid(Exception):
    pass


def _q(name: str) -> str:
    return f"{{{actes.ACTES_NS}}}{name}"


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        pki: Pki,
        maildir: Path,
        *,
        legacy_200: bool = False,
    ) -> None:
        super().__init__(address, Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_cert_chain(str(pki.server_certificate), str(pki.server_key))
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.maildir = maildir
        self.status = 200 if legacy_200 else 201
        self.lock = threading.Lock()
        self.received: dict[str, int] = {}  # package name → transmissions taken (1)
        self.posts = 0
        self.fail_next: list[int] = []
        self.delay_next = 0.0
        self.anomalies: set[str] = set()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in ("127.0.0.1", "localhost"):
            name = "localhost"
        return f"https://{name}:{port}/actes"

    def take(self, name: str, body: bytes) -> bool:
        """Take a package; ``False`` when a package of that name was taken already."""
        with self.lock:
            if name in self.received:
                return False
        reply = self.acknowledgement(body)
        with self.lock:
            if name in self.received:
                return False
            self.received[name] = 1
            box = mailbox.Maildir(str(self.maildir), create=True)
            box.add(reply)
            box.close()
        return True

    def acknowledgement(self, body: bytes) -> bytes:
        try:
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
                files = {
                    m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
                    for m in archive.getmembers()
                    if m.isfile()
                }
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise Invalid(f"not a tar.gz archive: {exc}") from exc
        envelope = acte = None
        for name, content in files.items():
            if not name.endswith(".xml"):
                continue
            problems = actes.schema_errors(content)
            if problems:
                raise Invalid(f"{name}: {problems[0]}")
            root = etree.fromstring(content)
            if root.tag == _q("EnveloppeCLMISILL"):
                envelope = root
            elif root.tag == _q("Acte"):
                acte = root
        if envelope is None or acte is None:
            raise Invalid("the archive must hold an EnveloppeCLMISILL and an Acte")
        named = [e.text or "" for e in acte.iter(_q("NomFichier"))]
        named += [e.text or "" for e in envelope.iter(_q("NomFichier"))]
        missing = [n for n in named if n not in files]
        if missing:
            raise Invalid(f"files named but missing: {', '.join(missing)}")
        idcl = envelope.find(f"{_q('Emetteur')}/{_q('IDCL')}")
        if idcl is None:  # pragma: no cover - the schema requires it
            raise Invalid("no IDCL")
        siren = idcl.get(f"{{{actes.INSEE_NS}}}SIREN", "")
        departement = idcl.get(_q("Departement"), "")
        number = acte.get(_q("NumeroInterne"), "")
        decided = date.fromisoformat(acte.get(_q("Date"), ""))
        nature = actes.Nature(int(acte.get(_q("CodeNatureActe"), "6")))
        identifier = actes.act_identifier(departement, siren, decided, number, nature)
        today = timezone.localdate()
        if number in self.anomalies:
            message = messages.anomalie_acte(
                acte, today, "001", "Acte illisible : pièce manquante."
            )
            file_name = identifier + messages.ANOMALY_SUFFIX
        else:
            message = messages.ar_acte(acte, identifier, today)
            file_name = identifier + messages.ACK_SUFFIX
        to = envelope.findtext(f"{_q('AdressesRetour')}/{_q('Email')}") or "actes@localhost"
        return messages.return_mail(
            to=to,
            subject=f"[@ctes] {file_name}",
            attachment_name=f"{identifier}.tar.gz",
            attachment=messages.return_package(siren, departement, file_name, message),
            sender=SENDER,
        )


class Handler(BaseHTTPRequestHandler):
    server: StandinServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("standin: " + format, *args)

    def _answer(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._answer(413 if length > MAX_BODY else 411, "a package is required")
            return
        body = self.rfile.read(length)
        with server.lock:
            server.posts += 1
            failing = server.fail_next.pop(0) if server.fail_next else None
        if failing is not None:
            self._answer(failing, "stand-in: failure on request")
            return
        match = NAME.search(self.headers.get("Content-Disposition", ""))
        if match is None:
            self._answer(400, "the package's name is missing or malformed")
            return
        try:
            taken = server.take(match.group(1), body)
        except Invalid as exc:
            self._answer(400, f"package refused: {exc}")
            return
        with server.lock:
            delay, server.delay_next = server.delay_next, 0.0
        if delay:
            time.sleep(delay)
        self._answer(server.status, "received" if taken else "already received")


def serve(server: StandinServer) -> threading.Thread:
    """Serve in a daemon thread (the tests); ``server.shutdown()`` stops it."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread
