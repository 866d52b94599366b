"""The return channel: the ministry's answers, read from the mailbox (``mailbox.py``) by
a periodic job, parsed, routed to the member and the act, and processed; what cannot be
parsed or routed is quarantined, never lost.

A return e-mail carries a ``tar.gz`` attachment holding the ``EnveloppeMISILLCL`` (the
member's SIREN) and one @ctes message (or the message itself as an XML attachment). Each
XML file is checked against the @ctes schema. Routed:

- ``ARActe``: by its ``IDActe`` (``{dept}-{SIREN}-{date}-{number}-{nature}``) and the
  SIREN → ``services.acknowledge_act``;
- ``AnomalieActe``: by the envelope's SIREN and the act's internal number → the act goes
  to error with the anomaly's text (``record_anomaly``);
- both name the prefecture's classification version (``ClassificationDateVersionEnCours``)
  → ``classification.announce``;
- the prefecture's letters (``CourrierSimple``, ``DemandePieceComplementaire``,
  ``LettreObservations``, ``DefereTA``), with the PDF the archive carries, by their
  ``IDActe`` → ``correspondence.receive_letter``; the acknowledgements of the member's
  answers (``ARPieceComplementaire``, ``ARReponseRejetLettreObservations``) →
  ``correspondence.receive_answer_acknowledgement``;
- ``ARAnnulation`` → ``cancellation.acknowledge_cancellation``;
- ``RetourClassification`` and ``ReponseClassificationSansChangement``, by the
  envelope's SIREN → ``classification``.

Every message read is recorded (``InboundMessage``) with its raw bytes in the private
file store, once: its SHA-256 is unique, so a message read twice (a crash before the
mailbox was told, two readers) is processed once.

The mailbox is read in batches (``return_batches``: one transaction per batch, the
acknowledgements written in bulk); ``receive`` processes one message in its own
transaction, and is what a batch whose transaction fails falls back to.
"""

from __future__ import annotations

import dataclasses
import email
import email.header
import email.parser
import email.policy
import hashlib
import io
import logging
import re
import tarfile
from collections.abc import Iterable
from datetime import date, datetime
from email.message import Message
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope
from lxml import etree

from mutualis.core import audit
from mutualis.core import files as file_store

from . import (
    actes,
    cancellation,
    classification,
    correspondence,
    crossings,
    errors,
    services,
    transitions,
)
from .mailbox import Mailbox
from .models import INBOUND_OWNER_KIND, Act, ActStatus, InboundMessage, InboundStatus

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 160 * 1024**2
MAX_XML_BYTES = 10 * 1024**2
MAX_FILE_BYTES = 150 * 1024**2
ANOMALY_MAX_LENGTH = 500


class _AnyType(frozenset[str]):
    """The raw e-mail is kept verbatim, whatever its bytes look like (never served)."""

    def __contains__(self, item: object) -> bool:
        return True


ANY_TYPE = _AnyType()


class Unroutable(Exception):
    """The message cannot be parsed or routed: ``reason`` says why (quarantine)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Parsed:
    kind: str  # the message's root element: ARActe, AnomalieActe…
    root: etree._Element
    siren: str
    message_id: str
    # The other files the message came with (the letters' PDF), by name.
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)


def _xml_documents(
    mail: Message, others: dict[str, bytes] | None = None
) -> list[tuple[str, bytes]]:
    """The XML files the e-mail carries: those of its ``tar.gz`` attachments and its XML
    attachments; the archives' other files go to ``others``."""
    found: list[tuple[str, bytes]] = []
    others = {} if others is None else others
    for part in mail.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        if "=?" in name:
            # An RFC 2047 encoded name, which compat32 leaves encoded.
            name = str(email.header.make_header(email.header.decode_header(name)))
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not name:
            continue
        if name.endswith((".tar.gz", ".tgz")) or payload[:2] == b"\x1f\x8b":
            try:
                with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
                    for member in archive.getmembers():
                        if member.isfile() and not member.name.endswith(".xml"):
                            if member.size > MAX_FILE_BYTES:
                                raise Unroutable(f"archive entry too large: {member.name}")
                            other = archive.extractfile(member)
                            if other is not None:
                                others[member.name] = other.read()
                            continue
                        if not member.isfile():
                            continue
                        if member.size > MAX_XML_BYTES:
                            raise Unroutable(f"archive entry too large: {member.name}")
                        extracted = archive.extractfile(member)
                        if extracted is not None:
                            found.append((member.name, extracted.read()))
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise Unroutable(f"unreadable archive {name}: {exc}") from exc
        elif name.endswith(".xml"):
            found.append((name, payload))
    return found


# The standard parser compiles a regular expression from each multipart message's
# boundary, anew for each message (a boundary is random): 0.1 to 0.4 ms, half of the
# parse. ``constant_boundary`` gives every message the same one before parsing.
_CONSTANT_BOUNDARY = b"mutualis-return-channel-boundary"
_BOUNDARY = re.compile(rb'boundary="?([^";\s]+)"?', re.IGNORECASE)
_HEADERS_END = re.compile(rb"\r?\n\r?\n")


def constant_boundary(raw: bytes) -> bytes:
    """``raw`` with its top-level MIME boundary replaced by a constant, for parsing
    only (the bytes kept and hashed are the received ones). Replaced only where the
    boundary is nothing but the ``Content-Type`` parameter and the delimiter lines; any
    other occurrence, or an unusual header, leaves the message as it is."""
    end = _HEADERS_END.search(raw)
    if end is None or _CONSTANT_BOUNDARY in raw:
        return raw
    headers = raw[: end.start()]
    content_type = b""
    lines = headers.splitlines()
    for index, line in enumerate(lines):
        if line[:13].lower() == b"content-type:":
            content_type = line
            for more in lines[index + 1 :]:
                if not more[:1].isspace():
                    break
                content_type += more
            break
    found = _BOUNDARY.findall(content_type)
    if len(found) != 1 or len(found[0]) < 16:
        return raw
    boundary = found[0]
    delimiters = raw.count(b"\n--" + boundary)
    if delimiters < 2 or raw.count(boundary) != headers.count(boundary) + delimiters:
        return raw
    if headers.count(boundary) != 1:
        return raw
    return raw.replace(boundary, _CONSTANT_BOUNDARY)


def parse(raw: bytes) -> Parsed:
    """The @ctes message an e-mail carries, checked against the schema, with the SIREN
    it is for. Raises ``Unroutable`` with the reason.

    The e-mail is read with the ``compat32`` policy: it finds the same parts, names and
    decoded bytes as ``policy.default`` at a tenth of the cost (about 0.2 ms against
    2.6 ms for an acknowledgement), and nothing here needs the modern header objects."""
    mail = email.message_from_bytes(constant_boundary(raw), policy=email.policy.compat32)
    message_id = " ".join(str(mail.get("Message-ID", "") or "").split())[:300]
    others: dict[str, bytes] = {}
    documents = _xml_documents(mail, others)
    if not documents:
        raise Unroutable("no @ctes message attached")
    envelope_siren = ""
    messages: list[etree._Element] = []
    for name, content in documents:
        problems = actes.schema_errors(content)
        if problems:
            raise Unroutable(f"{name} is not a valid @ctes message: {problems[0]}"[:500])
        root = etree.fromstring(content)
        if root.tag == actes.qualified("EnveloppeMISILLCL"):
            destination = root.find(actes.qualified("Destinataire"))
            if destination is not None:
                envelope_siren = destination.get(f"{{{actes.INSEE_NS}}}SIREN", "")
        else:
            messages.append(root)
    if len(messages) != 1:
        raise Unroutable(f"expected one @ctes message, found {len(messages)}")
    root = messages[0]
    kind = etree.QName(root).localname
    siren = envelope_siren
    identifier = _identifier(root)
    if identifier:
        parts = identifier.split("-")
        from_identifier = parts[1] if len(parts) >= 5 else ""
        if siren and from_identifier and siren != from_identifier:
            raise Unroutable("the envelope's SIREN and the act identifier's differ")
        siren = siren or from_identifier
    if not actes.SIREN_PATTERN.fullmatch(siren or ""):
        raise Unroutable("no SIREN names the member")
    return Parsed(kind, root, siren, message_id, others)


def _identifier(root: etree._Element) -> str:
    """The ``IDActe`` a message names: on its root, or on its ``InfosCourrierPref``."""
    found = root.get(actes.qualified("IDActe"), "")
    if not found:
        infos = root.find(actes.qualified("InfosCourrierPref"))
        found = infos.get(actes.qualified("IDActe"), "") if infos is not None else ""
    return found


def record_anomaly(
    *, organisation_id: int, number: str, nature: str, detail: str, message_sha256: str
) -> Act:
    """The ministry refuses an act's transmission (``AnomalieActe``): the act goes to
    error with the anomaly's text, shown to the agent. Idempotent."""
    with transaction.atomic(), scope(organisation=organisation_id):
        act = (
            Act.objects.select_for_update()
            .select_related("organisation")
            .filter(organisation_id=organisation_id, number=number)
            .first()
        )
        if act is None or not act.identifier:
            raise errors.UnknownAct()
        with translation.override(settings.LANGUAGE_CODE):
            reason = str(
                _("The prefecture reported an anomaly (%(nature)s): %(detail)s")
                % {"nature": nature, "detail": detail or "-"}
            )[:ANOMALY_MAX_LENGTH]
        if act.status == ActStatus.ERROR and act.error_reason == reason:
            return act
        transitions.apply(act, transitions.Event.FAIL)
        act.error_reason = reason
        act.next_attempt_at = None
        act.save(update_fields=["status", "error_reason", "next_attempt_at", "updated_at"])
        audit.record(
            actor=services.RETURN_ACTOR,
            organisation=act.organisation,
            action="legality.act_anomaly",
            target=act,
            payload={"nature": nature, "detail": detail[:300], "message_sha256": message_sha256},
        )
    return act


def _letter_document(parsed: Parsed) -> tuple[str, bytes] | None:
    """The PDF a letter names (``Document``, or a referral's first ``PieceJointe``)."""
    names = [e.text or "" for e in parsed.root.iter(actes.qualified("NomFichier"))]
    for name in names:
        if name in parsed.files:
            return name[:200], parsed.files[name]
    if names:
        raise Unroutable(f"the letter's document is missing from the archive: {names[0]}"[:500])
    return None


def date_in(root: etree._Element, attribute: str = "", element: str = "") -> date:
    """The date an @ctes answer gives in ``attribute`` of its root or in its child ``element``."""
    text = (
        root.get(actes.qualified(attribute), "")
        if attribute
        else root.findtext(actes.qualified(element)) or ""
    )
    return date.fromisoformat(text)


def announce_classification(organisation_id: int, root: etree._Element, sha256: str) -> None:
    """The classification version an acknowledgement or an anomaly names: noted
    (``classification.announce``, a transaction with the member's state locked) only
    when newer than the one already known; the same version named by every message
    since costs one read."""
    announced_on = date_in(root, element="ClassificationDateVersionEnCours")
    with scope(organisation=organisation_id):
        state = classification.state_of(organisation_id)
    if state is not None and state.announced_on is not None and state.announced_on >= announced_on:
        return
    classification.announce(
        organisation_id=organisation_id, announced_on=announced_on, message_sha256=sha256
    )


def _route(parsed: Parsed, organisation_id: int, sha256: str) -> Act | None:
    root, kind = parsed.root, parsed.kind
    if kind == "ARActe":
        act = services.acknowledge_act(
            organisation_id=organisation_id,
            identifier=root.get(actes.qualified("IDActe"), ""),
            received_on=date_in(root, "DateReception"),
            message_sha256=sha256,
        )
        announce_classification(organisation_id, root, sha256)
        return act
    if kind == "AnomalieActe":
        received_act = root.find(actes.qualified("ActeRecu"))
        number = (
            received_act.get(actes.qualified("NumeroInterne"), "")
            if received_act is not None
            else ""
        )
        act = record_anomaly(
            organisation_id=organisation_id,
            number=number,
            nature=root.findtext(actes.qualified("Nature")) or "",
            detail=" ".join((root.findtext(actes.qualified("Detail")) or "").split()),
            message_sha256=sha256,
        )
        announce_classification(organisation_id, root, sha256)
        return act
    if kind in ("CourrierSimple", "DemandePieceComplementaire", "LettreObservations"):
        text_element = {"DemandePieceComplementaire": "DescriptionPieces"}.get(kind, "Motif")
        letter = correspondence.receive_letter(
            organisation_id=organisation_id,
            kind=kind,
            identifier=root.get(actes.qualified("IDActe"), ""),
            letter_date=date_in(root, "DateCourrierPref"),
            text=(root.findtext(actes.qualified(text_element)) or "").strip(),
            document=_letter_document(parsed),
            message_sha256=sha256,
        )
        return letter.act
    if kind == "DefereTA":
        letter = correspondence.receive_letter(
            organisation_id=organisation_id,
            kind=kind,
            identifier=root.get(actes.qualified("IDActe"), ""),
            letter_date=date_in(root, element="DateDepot"),
            text=(root.findtext(actes.qualified("NatureIllegalite")) or "").strip(),
            document=_letter_document(parsed),
            message_sha256=sha256,
        )
        return letter.act
    if kind in correspondence.ANSWER_ACKNOWLEDGEMENTS:
        infos = root.find(actes.qualified("InfosCourrierPref"))
        if infos is None:  # pragma: no cover - the schema requires it
            raise Unroutable("no InfosCourrierPref")
        letter = correspondence.receive_answer_acknowledgement(
            organisation_id=organisation_id,
            kind=kind,
            identifier=infos.get(actes.qualified("IDActe"), ""),
            letter_date=date_in(infos, "DateCourrierPref"),
            received_on=date_in(root, "DateReception"),
            message_sha256=sha256,
        )
        return letter.act
    if kind == "ARAnnulation":
        return cancellation.acknowledge_cancellation(
            organisation_id=organisation_id,
            identifier=root.get(actes.qualified("IDActe"), ""),
            received_on=date_in(root, "DateReception"),
            message_sha256=sha256,
        )
    if kind == "RetourClassification":
        classification.receive_classification(
            organisation_id=organisation_id,
            root=root,
            actor=services.RETURN_ACTOR,
            message_sha256=sha256,
        )
        return None
    if kind == "ReponseClassificationSansChangement":
        classification.receive_unchanged(
            organisation_id=organisation_id,
            version_date=date_in(root, element="DateClassification"),
            actor=services.RETURN_ACTOR,
            message_sha256=sha256,
        )
        return None
    raise Unroutable(f"{kind} messages are not handled")


def process_parsed(parsed: Parsed, sha256: str) -> tuple[int, Act | None]:
    """Route a parsed answer to its member and act and process it: the member's id and the
    act (None for an answer about no act). ``Unroutable`` when it names no member or act."""
    organisation_id = crossings.member_of_siren(parsed.siren)
    if organisation_id is None:
        raise Unroutable(f"no member has the SIREN {parsed.siren}")
    try:
        act = _route(parsed, organisation_id, sha256)
    except errors.UnknownAct as exc:
        raise Unroutable("no act of this member has this identifier") from exc
    except errors.NotEnrolled as exc:
        raise Unroutable("the member is not enrolled") from exc
    except errors.TransitionNotAllowed as exc:
        raise Unroutable("the act's status does not allow this answer") from exc
    except correspondence.LetterRefused as exc:
        raise Unroutable(exc.reason) from exc
    except ValueError as exc:
        raise Unroutable(f"unreadable date: {exc}"[:500]) from exc
    return organisation_id, act


def keep_raw(raw: bytes, sha256: str) -> Any:
    """The e-mail as received, kept in the private file store (the proof)."""
    return file_store.store_file(
        file=io.BytesIO(raw),
        name=f"{sha256[:16]}.eml",
        owner_kind=INBOUND_OWNER_KIND,
        allowed_types=ANY_TYPE,
        max_size=max(MAX_MESSAGE_BYTES, len(raw)),
    )


def message_id_of(raw: bytes) -> str:
    """The ``Message-ID`` header, whatever else the message holds ("" when unreadable)."""
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        return " ".join(str(headers.get("Message-ID", "") or "").split())[:300]
    except (ValueError, LookupError, UnicodeError):
        return ""


def parse_checked(raw: bytes) -> Parsed:
    """``parse``, any reading error becoming ``Unroutable`` (quarantine)."""
    try:
        return parse(raw)
    except (ValueError, LookupError, UnicodeError, etree.LxmlError) as exc:
        raise Unroutable(f"unreadable message: {exc.__class__.__name__}") from exc


def receive(raw: bytes, now: datetime | None = None) -> str:
    """Process one raw e-mail: "processed", "quarantined" or "duplicate"."""
    now = now or timezone.now()
    sha256 = hashlib.sha256(raw).hexdigest()
    if InboundMessage.objects.filter(sha256=sha256).exists():
        return "duplicate"
    row = InboundMessage(sha256=sha256, received_at=now, message_id=message_id_of(raw))
    try:
        with transaction.atomic():
            try:
                parsed = parse_checked(raw)
                row.message_id, row.kind = parsed.message_id, parsed.kind
                with transaction.atomic():
                    organisation_id, act = process_parsed(parsed, sha256)
                row.status = InboundStatus.PROCESSED
                row.organisation_id, row.act, row.identifier = (
                    organisation_id,
                    act,
                    act.identifier if act is not None else "",
                )
            except Unroutable as exc:
                row.status = InboundStatus.QUARANTINED
                row.reason = exc.reason[:500]
                log.warning("legality: message %s quarantined: %s", sha256[:12], exc.reason)
            row.raw = keep_raw(raw, sha256)
            row.save()
    except IntegrityError:
        # Read at the same moment by another reader, which recorded it.
        return "duplicate"
    return str(row.status)


def read_mailbox(box: Mailbox, now: datetime | None = None) -> dict[str, int]:
    """Process every new message of ``box``, a batch at a time (``return_batches``);
    each batch is marked done once committed."""
    from .return_batches import read_mailbox as read_in_batches

    return read_in_batches(box, now)


def quarantined() -> Iterable[InboundMessage]:
    return InboundMessage.objects.filter(status=InboundStatus.QUARANTINED)
