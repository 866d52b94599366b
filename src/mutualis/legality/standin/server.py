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

The member's other messages are answered as a prefecture would: an ``Annulation`` by
an ``ARAnnulation``, documents sent or refused by an ``ARPieceComplementaire``, an answer
to (or rejection of) observations by an ``ARReponseRejetLettreObservations``, a
``DemandeClassification`` by a ``RetourClassification`` of ``classification_date`` (the
platform's default matières) or, when the member already holds that version, by a
``ReponseClassificationSansChangement``; the automatic acknowledgements and the answers
to simple letters need no answer.

For the tests, ``fail_next`` (statuses to answer first, without taking the package),
``delay_next`` (seconds to wait after taking the next package, before answering) and
``anomalies`` (internal numbers answered by an ``AnomalieActe``) change its behaviour;
``letters`` (internal number → letter kind) makes it write, after the acknowledgement of
such an act, a letter of the prefecture about it (the demo's request for documents).
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

from .. import actes, classification
from ..outbox import CODES
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
        self.letters: dict[str, str] = {}
        self.classification_date: date = classification.VERSION_DATE

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
        replies = self.replies(body)
        with self.lock:
            if name in self.received:
                return False
            self.received[name] = 1
            box = mailbox.Maildir(str(self.maildir), create=True)
            for reply in replies:
                box.add(reply)
            box.close()
        return True

    def replies(self, body: bytes) -> list[bytes]:
        """The e-mails answering a package (checked first: ``Invalid``)."""
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
            elif acte is None:
                acte = root
        if envelope is None or acte is None:
            raise Invalid("the archive must hold an EnveloppeCLMISILL and a message")
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
        to = envelope.findtext(f"{_q('AdressesRetour')}/{_q('Email')}") or "actes@localhost"
        if acte.tag != _q("Acte"):
            return self.answer_message(acte, siren, departement, to)
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
        mails = [_mail(to, siren, departement, identifier, file_name, message)]
        kind = self.letters.get(number, "")
        if kind and file_name.endswith(messages.ACK_SUFFIX):
            mails.append(_letter_mail(kind, to, siren, departement, identifier, today))
        return mails

    def answer_message(
        self, message: etree._Element, siren: str, departement: str, to: str
    ) -> list[bytes]:
        """The prefecture's answer to the member's other messages (see the module)."""
        kind = etree.QName(message).localname
        today = timezone.localdate()
        identifier = message.get(_q("IDActe"), "")
        letter_date = message.get(_q("DateCourrierPref"), "")
        if kind == "Annulation":
            answer, reply_kind = messages.ar_annulation(identifier, today), "ARAnnulation"
        elif kind in ("PieceComplementaire", "RefusPieceComplementaire"):
            reply_kind = "ARPieceComplementaire"
            answer = messages.ar_reponse(
                reply_kind, identifier, date.fromisoformat(letter_date), today
            )
        elif kind in ("ReponseLettreObservations", "RejetLettreObservations"):
            reply_kind = "ARReponseRejetLettreObservations"
            answer = messages.ar_reponse(
                reply_kind, identifier, date.fromisoformat(letter_date), today
            )
        elif kind == "DemandeClassification":
            held = message.findtext(_q("DateClassification")) or ""
            version = self.classification_date
            if held == version.isoformat():
                reply_kind, answer = (
                    "ReponseClassificationSansChangement",
                    messages.sans_changement(version),
                )
            else:
                reply_kind = "RetourClassification"
                answer = messages.retour_classification(
                    version,
                    classification.MATIERES,
                    {int(n): list(classification.PIECE_TYPES.items()) for n in actes.Nature},
                )
            identifier = f"{departement}-{siren}-{today:%Y%m%d}-CLASSIF-AU"
        else:
            # The automatic acknowledgements and the answers to simple letters.
            return []
        file_name = f"{identifier}-{CODES[reply_kind]}_0.xml"
        return [_mail(to, siren, departement, identifier, file_name, answer)]


def _mail(
    to: str,
    siren: str,
    departement: str,
    identifier: str,
    file_name: str,
    message: bytes,
    files: list[tuple[str, bytes]] | None = None,
) -> bytes:
    return messages.return_mail(
        to=to,
        subject=f"[@ctes] {file_name}",
        attachment_name=f"{identifier}.tar.gz",
        attachment=messages.return_package(siren, departement, file_name, message, files or []),
        sender=SENDER,
    )


LETTER_TEXTS = {
    "CourrierSimple": "Courrier de la préfecture relatif à votre acte.",
    "DemandePieceComplementaire": (
        "Afin d'exercer le contrôle de légalité, merci de transmettre le rapport de "
        "présentation et l'avis de la commission d'appel d'offres."
    ),
    "LettreObservations": (
        "L'acte appelle les observations suivantes : la délibération ne vise pas l'avis "
        "de la commission compétente."
    ),
}


def _letter_mail(
    kind: str, to: str, siren: str, departement: str, identifier: str, on: date
) -> bytes:
    """A letter of the prefecture about an act: its message and its PDF."""
    from mutualis.core.pdf import text_pdf

    text = LETTER_TEXTS[kind]
    code = CODES[kind]
    document_name = f"{identifier}-{code}_1.pdf"
    pdf = text_pdf(["Préfecture (stand-in)", text], title=kind)
    message = messages.letter(kind, identifier, on, text, document_name)
    return _mail(
        to, siren, departement, identifier, f"{identifier}-{code}_0.xml", message,
        [(document_name, pdf)],
    )  # fmt: skip


class Handler(BaseHTTPRequestHandler):
    server: StandinServer
    protocol_version = "HTTP/1.1"
    # The answer's headers and body are two writes on a kept-alive connection: with
    # Nagle's algorithm, the body waits for the client's delayed ACK (40 ms a request).
    disable_nagle_algorithm = True

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
