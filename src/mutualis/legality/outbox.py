"""The member's messages other than the act itself: answers to the prefecture's letters,
their automatic acknowledgements, cancellations and classification requests.

Each is packed like an act — an ``EnveloppeCLMISILL`` naming the member, the message,
the files it names, in a ``tar.gz`` named ``{TRI}-{APPLI}--{SIREN}--{date}-{serial}`` —
when it is queued (inside the caller's transaction), and sent by the transmission job
(``send_due_messages``) to the same endpoint, with the same client certificate,
windows, switch, retries and back-off as the acts. The serial of the day counts the
acts' and these messages' packages together (``next_serial``).

The message files are named ``{IDActe}-{code}_0.xml`` and the files they carry
``{IDActe}-{code}_{n}.pdf``, where the code is the message's number in the @ctes
specification (``CODES``; the schema itself carries no code: these are the ones of the
ministry's specification as S²LOW lists them, "cahier des charges ACTES" of 2011).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import shutil
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scope
from lxml import etree

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.models import StoredFile

from . import actes, crossings, errors, transmission, transport
from .models import (
    ACT_OWNER_KIND,
    AGENT_ROLE,
    Act,
    Enrolment,
    Letter,
    OutboundFile,
    OutboundMessage,
    OutboundStatus,
)

log = logging.getLogger(__name__)

BATCH = 200

# The @ctes message codes ("transaction-subtype"): who sends each is said beside it.
CODES = {
    "Acte": "1-1",  # member
    "ARActe": "1-2",  # prefecture
    "AnomalieActe": "1-3",  # prefecture
    "CourrierSimple": "2-1",  # prefecture
    "ReponseCourrierSimple": "2-2",  # member
    "DemandePieceComplementaire": "3-1",  # prefecture
    "ARDemandePieceComplementaire": "3-2",  # member (automatic)
    "RefusPieceComplementaire": "3-3",  # member
    "PieceComplementaire": "3-4",  # member
    "ARPieceComplementaire": "3-5",  # prefecture
    "LettreObservations": "4-1",  # prefecture
    "ARLettreObservations": "4-2",  # member (automatic)
    "RejetLettreObservations": "4-3",  # member
    "ReponseLettreObservations": "4-4",  # member
    "ARReponseRejetLettreObservations": "4-5",  # prefecture
    "DefereTA": "5-1",  # prefecture
    "Annulation": "6-1",  # member
    "ARAnnulation": "6-2",  # prefecture
    "DemandeClassification": "7-1",  # member
    "RetourClassification": "7-2",  # prefecture
    "ReponseClassificationSansChangement": "7-3",  # prefecture
}


def q(name: str) -> str:
    return f"{{{actes.ACTES_NS}}}{name}"


def element(kind: str) -> etree._Element:
    """A message's root element, ``kind`` one of ``CODES``."""
    if kind not in CODES:
        raise ValueError(kind)
    return etree.Element(q(kind), nsmap=actes.NSMAP)


def file_element(parent: etree._Element, tag: str, name: str) -> None:
    """A ``FichierSigne``: the file's name (the member's answers carry no signature)."""
    etree.SubElement(etree.SubElement(parent, q(tag)), q("NomFichier")).text = name


def serialise(root: etree._Element) -> bytes:
    return actes.serialise(root)


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """A message to queue: its kind, the base of its file names (the act's identifier,
    or the member's day and serial for a classification request), the message (a
    function of the files' names, which the queue gives) and the files it carries."""

    kind: str
    base: str
    files: Sequence[StoredFile] = ()

    def names(self) -> list[str]:
        code = CODES[self.kind]
        return [f"{self.base}-{code}_{index}.pdf" for index in range(1, len(self.files) + 1)]

    @property
    def message_name(self) -> str:
        return f"{self.base}-{CODES[self.kind]}_0.xml"


class MessageInvalid(Exception):
    """A message the platform built does not pass the schema (a bug, never sent)."""


def next_serial(organisation_id: int, on: date) -> int:
    """The serial of the member's next package of the day ``on``: acts' and other
    messages' packages together. The caller holds the member's row locked."""
    marker = f"--{on:%Y%m%d}-"
    # Both counted in one statement (UNION ALL keeps the rows of both tables).
    acts = Act.objects.filter(organisation_id=organisation_id, package_name__contains=marker)
    messages = OutboundMessage.objects.filter(
        organisation_id=organisation_id, package_name__contains=marker
    )
    return (
        1 + acts.order_by().values("pk").union(messages.order_by().values("pk"), all=True).count()
    )


def sender_of(enrolment: Enrolment, siren: str) -> actes.Sender:
    return actes.Sender(
        siren=siren,
        departement=enrolment.departement,
        arrondissement=enrolment.arrondissement,
        nature=enrolment.authority_nature,
        return_addresses=[settings.MUTUALIS_LEGALITY_RETURN_ADDRESS],
    )


def _read(stored: StoredFile) -> bytes:
    with file_store.open_stored_file(stored) as handle:
        data: bytes = handle.read()
    return data


def queue(
    *,
    enrolment: Enrolment,
    siren: str,
    outgoing: Outgoing,
    message: bytes,
    act: Act | None = None,
    letter: Letter | None = None,
    today: date | None = None,
) -> OutboundMessage:
    """Pack ``message`` with its files and queue it (inside the caller's transaction,
    the member's row locked). The message is checked against the schema first."""
    problems = actes.schema_errors(message)
    if problems:
        raise MessageInvalid(problems[0])
    today = today or timezone.localdate()
    organisation_id = enrolment.organisation_id
    serial = next_serial(organisation_id, today)
    sender = sender_of(enrolment, siren)
    entries = [(outgoing.message_name, message)]
    entries += [
        (name, _read(stored)) for name, stored in zip(outgoing.names(), outgoing.files, strict=True)
    ]
    envelope = actes.envelope(sender, [outgoing.message_name])
    entries.insert(0, (actes.envelope_file_name(sender, today, serial), envelope))
    name = actes.package_name(
        settings.MUTUALIS_LEGALITY_TRI, settings.MUTUALIS_LEGALITY_APPLI, siren, today, serial
    )
    with tempfile.TemporaryFile() as target:
        with tarfile.open(fileobj=target, mode="w:gz") as archive:
            for entry, content in entries:
                info = tarfile.TarInfo(entry)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
        target.seek(0)
        package = file_store.store_file(
            file=target,
            name=name,
            owner_kind=ACT_OWNER_KIND,
            owner_ref=str(organisation_id),
            allowed_types=frozenset({"application/gzip", "application/x-gzip"}),
        )
    row = OutboundMessage.objects.create(
        organisation_id=organisation_id,
        kind=outgoing.kind,
        act=act,
        letter=letter,
        package=package,
        package_name=name,
    )
    for position, stored in enumerate(outgoing.files, start=1):
        OutboundFile.objects.create(
            organisation_id=organisation_id, message=row, position=position, file=stored
        )
    return row


def resend(
    *, actor: Any, message_id: int, request_context: Mapping[str, Any] | None = None
) -> OutboundMessage:
    """An agent sends again a message in error (the same package, attempts afresh)."""
    from . import services  # services uses next_serial: imported when used

    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = services.acting_member(actor, AGENT_ROLE)
        row = (
            OutboundMessage.objects.select_for_update()
            .select_related("organisation")
            .filter(organisation_id=current.organisation_id, pk=message_id)
            .first()
        )
        if row is None:
            raise PermissionDenied
        if row.status != OutboundStatus.ERROR:
            raise errors.MessageNotInError()
        before = row.error_reason
        row.status, row.send_attempts, row.next_attempt_at, row.error_reason = (
            OutboundStatus.WAITING,
            0,
            None,
            "",
        )
        row.save(update_fields=["status", "send_attempts", "next_attempt_at", "error_reason"])
        audit.record(
            actor=current,
            organisation=row.organisation,
            action="legality.message_resent",
            target=row,
            payload={"kind": row.kind, "package": row.package_name, "error_before": before},
            **dict(request_context or {}),
        )
    return row


# --- Sending --------------------------------------------------------------------------


def _claim(message_id: int, organisation_id: int, now: datetime) -> tuple[int, str, Any] | None:
    with transaction.atomic(), scope(organisation=organisation_id):
        row = (
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .select_related("package")
            .filter(pk=message_id, organisation_id=organisation_id, status=OutboundStatus.WAITING)
            .first()
        )
        if row is None or (row.next_attempt_at is not None and row.next_attempt_at > now):
            return None
        row.send_attempts += 1
        row.next_attempt_at = now + transmission.backoff(row.send_attempts)
        row.save(update_fields=["send_attempts", "next_attempt_at"])
        return row.send_attempts, row.package_name, row.package


def _reason(answer: transport.Answer, attempts: int) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        text = _(
            "The message could not be transmitted after %(attempts)s attempts "
            "(%(detail)s): send it again from the act's page, or call the operator."
        ) % {"attempts": attempts, "detail": answer.detail or "-"}
    return str(text)[:500]


def _record(
    message_id: int, organisation_id: int, attempt: int, answer: transport.Answer, now: datetime
) -> str:
    with transaction.atomic(), scope(organisation=organisation_id):
        row = (
            OutboundMessage.objects.select_for_update()
            .select_related("organisation")
            .get(pk=message_id, organisation_id=organisation_id)
        )
        if answer.result is transport.Result.ACCEPTED:
            row.status, row.sent_at, row.next_attempt_at = OutboundStatus.SENT, now, None
            action, result = "legality.message_sent", "sent"
        elif answer.result is transport.Result.RETRY and (
            attempt < settings.MUTUALIS_LEGALITY_MAX_ATTEMPTS
        ):
            return "retry"
        else:
            row.status, row.next_attempt_at = OutboundStatus.ERROR, None
            row.error_reason = _reason(answer, attempt)
            action, result = "legality.message_failed", "failed"
        row.save(update_fields=["status", "sent_at", "next_attempt_at", "error_reason"])
        audit.record(
            actor=transmission.SENDER_ACTOR,
            organisation=row.organisation,
            action=action,
            target=row,
            payload={
                "kind": row.kind,
                "package": row.package_name,
                "act_id": row.act_id,
                "http_status": answer.status,
                "attempt": attempt,
                "detail": answer.detail,
            },
        )
        return result


def send_due_messages(
    now: datetime | None = None, session: requests.Session | None = None
) -> dict[str, int | str]:
    """Send the member's waiting messages whose attempt is due (the acts' rules)."""
    now = now or timezone.now()
    counts: dict[str, int | str] = {"sent": 0, "retry": 0, "failed": 0}
    reason = transmission.closed_reason(now)
    if reason:
        counts["closed"] = reason
        return counts
    due = crossings.due_messages(now, BATCH)
    if not due:
        return counts
    own_session = session is None
    http = session or requests.Session()
    try:
        with transport.tls_files(
            settings.MUTUALIS_LEGALITY_CLIENT_CERTIFICATE,
            settings.MUTUALIS_LEGALITY_CLIENT_KEY,
            settings.MUTUALIS_LEGALITY_SERVER_CA,
        ) as tls:
            for message_id, organisation_id in due:
                claimed = _claim(message_id, organisation_id, now)
                if claimed is None:
                    continue
                attempt, name, package = claimed
                with tempfile.TemporaryFile() as body:
                    with file_store.open_stored_file(package) as source:
                        shutil.copyfileobj(source, body)
                    answer = transmission.post(http, name, body, tls)
                result = _record(message_id, organisation_id, attempt, answer, now)
                counts[result] = int(counts[result]) + 1
    finally:
        if own_session:
            http.close()
    return counts
