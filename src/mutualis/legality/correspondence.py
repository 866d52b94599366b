"""The prefecture's correspondence about a transmitted act, and the member's answers.

The prefecture writes (received through the return channel, ``returns.py``):

- ``CourrierSimple`` (2-1): a letter; the member may answer (``ReponseCourrierSimple``);
- ``DemandePieceComplementaire`` (3-1): a request for additional documents; the platform
  acknowledges it at once (``ARDemandePieceComplementaire``), then the member sends the
  documents (``PieceComplementaire``) or refuses explicitly
  (``RefusPieceComplementaire``);
- ``LettreObservations`` (4-1): a letter of observations (the prefect's informal
  appeal); acknowledged at once (``ARLettreObservations``), then answered
  (``ReponseLettreObservations``) or rejected (``RejetLettreObservations``);
- ``DefereTA`` (5-1): the prefect referred the act to the administrative court; for
  information (no answer goes through @ctes).

The prefecture acknowledges an answer (``ARPieceComplementaire``,
``ARReponseRejetLettreObservations``) with the date it received it.

Due dates. The schema carries no deadline, so the platform applies these rules, and the
agent may set the date the letter itself gives (``set_due_date``):

- the member's answer to a request for documents is due one month after the letter's
  date (``DOCUMENTS_ANSWER_MONTHS``: a default, the law sets none; the prefecture's
  letter usually states one);
- the answer to a letter of observations is due two months after the letter's date:
  after two months, the prefect's appeal counts as implicitly rejected;
- a simple letter and a referral expect no answer.

Reminders (``remind``, a daily job): the member's legality agents get an e-mail once
``REMINDER_DAYS`` before an open letter's due date, and once more when it is reached.

The control period (CGCT L. 2131-6, L. 3132-1, L. 4142-1: the prefect may refer the act
to the administrative court within two months of its reception, ``deadline``): it ends
two months after the reception date of the acknowledgement. A request for documents made
within it interrupts it, until the documents (or the explicit refusal) reach the
prefecture; a new two-month period then runs from that reception (the Conseil d'État's
case law on "demandes de pièces complémentaires"). A letter of observations made within
it (an appeal) interrupts it too: a new period runs from the reception of the answer or
rejection, or, without an answer, from the implicit rejection two months after the
letter.
"""

from __future__ import annotations

import calendar
import dataclasses
import io
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_scopes import scope
from lxml import etree

from mutualis.core import audit
from mutualis.core import files as file_store
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email
from mutualis.core.models import Organisation, StoredFile
from mutualis.core.pdf import text_pdf
from mutualis.identity.models import Membership

from . import crossings, errors, outbox, services, transitions
from .models import (
    ACT_OWNER_KIND,
    AGENT_ROLE,
    Act,
    Enrolment,
    Letter,
    LetterKind,
    LetterStatus,
    OutboundMessage,
)

REMINDER_DAYS = 7
DOCUMENTS_ANSWER_MONTHS = 1
OBSERVATIONS_ANSWER_MONTHS = 2
CONTROL_MONTHS = 2
TEXT_MAX_LENGTH = 5000
INCOMING_TEXT_MAX_LENGTH = 20000
MAX_ANSWER_FILES = 10
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# The automatic acknowledgement of a letter, sent as soon as it is received.
AUTOMATIC_ACKNOWLEDGEMENT = {
    LetterKind.DOCUMENTS: "ARDemandePieceComplementaire",
    LetterKind.OBSERVATIONS: "ARLettreObservations",
}
# The answers each letter allows, and the letter status each leads to.
ANSWERS: dict[LetterKind, dict[str, LetterStatus]] = {
    LetterKind.SIMPLE: {"ReponseCourrierSimple": LetterStatus.ANSWERED},
    LetterKind.DOCUMENTS: {
        "PieceComplementaire": LetterStatus.ANSWERED,
        "RefusPieceComplementaire": LetterStatus.REFUSED,
    },
    LetterKind.OBSERVATIONS: {
        "ReponseLettreObservations": LetterStatus.ANSWERED,
        "RejetLettreObservations": LetterStatus.REFUSED,
    },
}
ANSWER_LABELS = {
    "ReponseCourrierSimple": _("Answer the letter"),
    "PieceComplementaire": _("Send the documents asked for"),
    "RefusPieceComplementaire": _("Refuse to send the documents"),
    "ReponseLettreObservations": _("Answer the observations"),
    "RejetLettreObservations": _("Reject the observations"),
}
# The prefecture's acknowledgement of an answer, and the letter it is about.
ANSWER_ACKNOWLEDGEMENTS = {
    "ARPieceComplementaire": LetterKind.DOCUMENTS,
    "ARReponseRejetLettreObservations": LetterKind.OBSERVATIONS,
}


REMINDER_ACTOR = audit.SystemActor("legality.reminders")


class LetterRefused(Exception):
    """An incoming letter cannot be recorded (the return channel quarantines it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Dates ------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the last day of a shorter month)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def default_due_on(kind: str, letter_date: date) -> date | None:
    if kind == LetterKind.DOCUMENTS:
        return add_months(letter_date, DOCUMENTS_ANSWER_MONTHS)
    if kind == LetterKind.OBSERVATIONS:
        return add_months(letter_date, OBSERVATIONS_ANSWER_MONTHS)
    return None


@dataclasses.dataclass(frozen=True)
class Deadline:
    """The end of the prefect's control period (``ends_on``), or why it is suspended."""

    ends_on: date | None
    suspended_by: Letter | None = None
    referred: bool = False


def deadline(act: Act, letters: Sequence[Letter]) -> Deadline | None:
    """The act's control period as its letters leave it (None before the
    acknowledgement). See the module's docstring for the rules."""
    if act.received_on is None:
        return None
    ends_on = add_months(act.received_on, CONTROL_MONTHS)
    referred = False
    for letter in sorted(letters, key=lambda item: (item.letter_date, item.pk or 0)):
        if letter.kind == LetterKind.REFERRAL:
            referred = True
            continue
        if letter.kind not in AUTOMATIC_ACKNOWLEDGEMENT or letter.letter_date > ends_on:
            # A simple letter, or a letter made after the period: no effect on it.
            continue
        if letter.answer_received_on is not None:
            ends_on = add_months(letter.answer_received_on, CONTROL_MONTHS)
        elif letter.kind == LetterKind.OBSERVATIONS:
            implicit = add_months(letter.letter_date, OBSERVATIONS_ANSWER_MONTHS)
            ends_on = add_months(implicit, CONTROL_MONTHS)
        else:
            return Deadline(None, suspended_by=letter, referred=referred)
    return Deadline(ends_on, referred=referred)


def is_overdue(letter: Letter, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return (
        letter.status == LetterStatus.OPEN and letter.due_on is not None and letter.due_on < today
    )


# --- Messages ---------------------------------------------------------------------------


def _courrier(kind: str, identifier: str, letter_date: date) -> etree._Element:
    root = outbox.element(kind)
    root.set(outbox.q("IDActe"), identifier)
    root.set(outbox.q("DateCourrierPref"), letter_date.isoformat())
    return root


def acknowledgement_message(kind: str, identifier: str, letter_date: date) -> bytes:
    """``ARDemandePieceComplementaire`` or ``ARLettreObservations``."""
    return outbox.serialise(_courrier(kind, identifier, letter_date))


def answer_message(kind: str, identifier: str, letter_date: date, names: Sequence[str]) -> bytes:
    """An answer naming its files: ``PieceComplementaire`` carries ``Documents`` (one or
    more), the others one ``Document``."""
    root = _courrier(kind, identifier, letter_date)
    if kind == "PieceComplementaire":
        documents = etree.SubElement(root, outbox.q("Documents"))
        for name in names:
            outbox.file_element(documents, "Document", name)
    else:
        outbox.file_element(root, "Document", names[0])
    return outbox.serialise(root)


# --- Receiving --------------------------------------------------------------------------


def _locked_act(organisation_id: int, identifier: str) -> Act:
    act = (
        Act.objects.select_for_update()
        .select_related("organisation")
        .filter(organisation_id=organisation_id, identifier=identifier)
        .exclude(identifier="")
        .first()
    )
    if act is None:
        raise errors.UnknownAct()
    return act


def _enrolment(organisation_id: int) -> Enrolment:
    enrolment = Enrolment.objects.filter(organisation_id=organisation_id).first()
    if enrolment is None:
        raise errors.NotEnrolled()
    return enrolment


def _store_pdf(organisation_id: int, name: str, content: bytes) -> StoredFile:
    return file_store.store_file(
        file=io.BytesIO(content),
        name=name,
        owner_kind=ACT_OWNER_KIND,
        owner_ref=str(organisation_id),
        allowed_types=frozenset({services.PDF}),
    )


def receive_letter(
    *,
    organisation_id: int,
    kind: str,
    identifier: str,
    letter_date: date,
    text: str,
    document: tuple[str, bytes] | None,
    message_sha256: str = "",
    now: datetime | None = None,
) -> Letter:
    """Record a letter of the prefecture about an acknowledged act, with its due date;
    a request for documents and a letter of observations are acknowledged at once.
    Idempotent (the same letter twice is recorded once)."""
    now = now or timezone.now()
    kind = LetterKind(kind)
    with transaction.atomic(), scope(organisation=organisation_id):
        Organisation.objects.select_for_update().get(pk=organisation_id)
        act = _locked_act(organisation_id, identifier)
        existing = Letter.objects.filter(act=act, kind=kind, letter_date=letter_date).first()
        if existing is not None:
            return existing
        transitions.apply(act, transitions.Event.LETTER)
        stored = None
        if document is not None:
            try:
                stored = _store_pdf(organisation_id, document[0], document[1])
            except file_store.errors.FileRefused as exc:
                raise LetterRefused(f"the letter's document is not a PDF: {exc}") from exc
        letter = Letter.objects.create(
            organisation_id=organisation_id,
            act=act,
            kind=kind,
            letter_date=letter_date,
            text=_CONTROLS.sub(" ", text)[:INCOMING_TEXT_MAX_LENGTH],
            document=stored,
            received_at=now,
            status=LetterStatus.NOTICE if kind == LetterKind.REFERRAL else LetterStatus.OPEN,
            due_on=default_due_on(kind, letter_date),
            message_sha256=message_sha256,
        )
        act.save(update_fields=["status", "updated_at"])
        acknowledgement = AUTOMATIC_ACKNOWLEDGEMENT.get(kind)
        queued = None
        if acknowledgement is not None:
            queued = outbox.queue(
                enrolment=_enrolment(organisation_id),
                siren=act.organisation.siren,
                outgoing=outbox.Outgoing(acknowledgement, act.identifier),
                message=acknowledgement_message(acknowledgement, act.identifier, letter_date),
                act=act,
                letter=letter,
            )
        audit.record(
            actor=services.RETURN_ACTOR,
            organisation=act.organisation,
            action="legality.letter_received",
            target=letter,
            payload={
                "act_id": act.pk,
                "kind": kind.value,
                "letter_date": letter_date.isoformat(),
                "due_on": letter.due_on.isoformat() if letter.due_on else None,
                "acknowledgement": queued.package_name if queued else None,
                "message_sha256": message_sha256,
            },
        )
    return letter


def receive_answer_acknowledgement(
    *,
    organisation_id: int,
    kind: str,
    identifier: str,
    letter_date: date,
    received_on: date,
    message_sha256: str = "",
) -> Letter:
    """The prefecture acknowledges the member's answer to a letter: the date it
    received it (from which the control period runs again). Idempotent."""
    letter_kind = ANSWER_ACKNOWLEDGEMENTS[kind]
    with transaction.atomic(), scope(organisation=organisation_id):
        act = _locked_act(organisation_id, identifier)
        letter = (
            Letter.objects.select_for_update()
            .filter(act=act, kind=letter_kind, letter_date=letter_date)
            .first()
        )
        if letter is None or letter.status not in (LetterStatus.ANSWERED, LetterStatus.REFUSED):
            raise errors.UnknownAct()
        if letter.answer_received_on == received_on:
            return letter
        letter.answer_received_on = received_on
        letter.save(update_fields=["answer_received_on"])
        answer = (
            OutboundMessage.objects.filter(letter=letter, kind=letter.answer_kind)
            .order_by("-pk")
            .first()
        )
        if answer is not None:
            answer.acknowledged_on = received_on
            answer.save(update_fields=["acknowledged_on"])
        audit.record(
            actor=services.RETURN_ACTOR,
            organisation=act.organisation,
            action="legality.answer_acknowledged",
            target=letter,
            payload={
                "act_id": act.pk,
                "kind": kind,
                "received_on": received_on.isoformat(),
                "message_sha256": message_sha256,
            },
        )
    return letter


# --- The member's answers -------------------------------------------------------------


def _locked_letter(current: Any, letter_id: int) -> Letter:
    letter = (
        Letter.objects.select_for_update()
        .select_related("act", "act__organisation")
        .filter(organisation_id=current.organisation_id, pk=letter_id)
        .first()
    )
    if letter is None:
        raise PermissionDenied
    return letter


def _answer_files(
    organisation: Organisation, kind: str, uploads: Sequence[services.Upload], text: str
) -> list[StoredFile]:
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > TEXT_MAX_LENGTH or _CONTROLS.search(text):
        raise errors.AnswerTextRequired()
    if len(uploads) > MAX_ANSWER_FILES:
        raise errors.AnswerFilesRequired()
    limit = settings.MUTUALIS_LEGALITY_MAX_BYTES
    total = 0
    for upload in uploads:
        upload.file.seek(0, 2)
        total += upload.file.tell()
        upload.file.seek(0)
    if total > limit:
        raise errors.AnswerTooLarge(errors.AnswerTooLarge.message % {"limit": limit // 1024**2})
    stored = []
    for upload in uploads:
        upload.file.seek(0)
        problem = services.pdf_problem(upload.name, upload.file.read())
        if problem is not None:
            raise errors.AnswerFileType()
        upload.file.seek(0)
        stored.append(
            services.store_upload(
                organisation, upload, frozenset({services.PDF}), errors.AnswerFileType
            )
        )
    if kind == "PieceComplementaire":
        if not stored:
            raise errors.AnswerFilesRequired()
        return stored
    if len(stored) > 1:
        raise errors.AnswerTextRequired()
    if not stored:
        if not text:
            raise errors.AnswerTextRequired()
        content = text_pdf([str(ANSWER_LABELS.get(kind, kind)), *text.split("\n")])
        stored.append(_store_pdf(organisation.pk, "reponse.pdf", content))
    return stored


def answer_letter(
    *,
    actor: Any,
    letter_id: int,
    answer: str,
    files: Sequence[services.Upload] = (),
    text: str = "",
    request_context: Mapping[str, Any] | None = None,
) -> OutboundMessage:
    """The member answers a letter (documents, an answer, a refusal): the answer is
    queued for sending with its files, the letter is answered or refused."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = services.acting_member(actor, AGENT_ROLE)
        organisation = Organisation.objects.select_for_update().get(pk=current.organisation_id)
        letter = _locked_letter(current, letter_id)
        act = letter.act
        if letter.status != LetterStatus.OPEN:
            raise errors.LetterNotOpen()
        allowed = ANSWERS.get(LetterKind(letter.kind), {})
        if answer not in allowed:
            raise errors.AnswerNotAllowed()
        if not transitions.allowed(act, transitions.Event.ANSWER):
            raise errors.TransitionNotAllowed()
        stored = _answer_files(organisation, answer, files, text)
        outgoing = outbox.Outgoing(answer, act.identifier, stored)
        row = outbox.queue(
            enrolment=_enrolment(current.organisation_id),
            siren=act.organisation.siren,
            outgoing=outgoing,
            message=answer_message(answer, act.identifier, letter.letter_date, outgoing.names()),
            act=act,
            letter=letter,
        )
        transitions.apply(act, transitions.Event.ANSWER)
        act.save(update_fields=["status", "updated_at"])
        letter.status = allowed[answer]
        letter.answer_kind = answer
        letter.answered_at = timezone.now()
        letter.save(update_fields=["status", "answer_kind", "answered_at"])
        audit.record(
            actor=current,
            organisation=act.organisation,
            action="legality.letter_answered",
            target=letter,
            payload={
                "act_id": act.pk,
                "answer": answer,
                "files": [f.sha256 for f in stored],
                "package": row.package_name,
            },
            **dict(request_context or {}),
        )
    return row


def set_due_date(
    *,
    actor: Any,
    letter_id: int,
    due_on: date,
    request_context: Mapping[str, Any] | None = None,
) -> Letter:
    """The agent sets the answer's due date the letter itself gives."""
    with transaction.atomic(), scope(organisation=actor.organisation_id):
        current = services.acting_member(actor, AGENT_ROLE)
        letter = _locked_letter(current, letter_id)
        if letter.status != LetterStatus.OPEN:
            raise errors.LetterNotOpen()
        if due_on < letter.letter_date:
            raise errors.DueDateInvalid()
        before = letter.due_on
        letter.due_on = due_on
        letter.save(update_fields=["due_on"])
        audit.record(
            actor=current,
            organisation=letter.act.organisation,
            action="legality.letter_due_date_set",
            target=letter,
            payload={
                "due_on": due_on.isoformat(),
                "before": before.isoformat() if before else None,
            },
            **dict(request_context or {}),
        )
    return letter


def letters_of(act: Act) -> list[Letter]:
    return list(Letter.objects.filter(act=act).select_related("document"))


def open_letters_count(organisation_id: int) -> int:
    return Letter.objects.filter(organisation_id=organisation_id, status=LetterStatus.OPEN).count()


# --- Reminders ------------------------------------------------------------------------


def _reminder_text(letter: Letter, stage: str, link: str) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "kind": letter.get_kind_display(),
            "number": letter.act.number,
            "due": date_format(letter.due_on, "DATE_FORMAT") if letter.due_on else "",
            "link": link,
        }
        if stage == "due":
            subject = gettext("Answer due: %(kind)s about the act %(number)s") % values
            body = (
                gettext(
                    "The answer to the prefecture's %(kind)s about the act %(number)s was due "
                    "by %(due)s and has not been sent.\n\nAnswer it: %(link)s\n"
                )
                % values
            )
        else:
            subject = gettext("Answer due soon: %(kind)s about the act %(number)s") % values
            body = (
                gettext(
                    "The answer to the prefecture's %(kind)s about the act %(number)s is due "
                    "by %(due)s.\n\nAnswer it: %(link)s\n"
                )
                % values
            )
    return subject, body


def remind_letter(*, letter_id: int, organisation_id: int, today: date) -> str:
    """Mail the member's legality agents about an open letter whose answer is due soon
    (or now), once per stage; recorded on the letter and audited. The stage sent, or ""."""
    with transaction.atomic(), scope(organisation=organisation_id):
        letter = (
            Letter.objects.select_for_update()
            .select_related("act", "organisation")
            .filter(pk=letter_id, organisation_id=organisation_id, status=LetterStatus.OPEN)
            .first()
        )
        if letter is None or letter.due_on is None:
            return ""
        if today >= letter.due_on:
            stage = "due"
        elif today >= letter.due_on - timedelta(days=REMINDER_DAYS):
            stage = "soon"
        else:
            return ""
        if letter.reminder == stage or (letter.reminder == "due"):
            return ""
        recipients = sorted(
            {
                m.user.email
                for m in Membership.objects.filter(
                    organisation_id=organisation_id, is_active=True, roles__code=AGENT_ROLE
                ).select_related("user")
                if m.user.is_active and m.user.email
            }
        )
        link = absolute_url(
            reverse(
                "legality:letter",
                kwargs={"org": letter.organisation.slug, "pk": letter.pk},
            )
        )
        subject, body = _reminder_text(letter, stage, link)
        for address in recipients:
            queue_email(to=address, subject=subject, body_text=body)
        letter.reminder = stage
        letter.save(update_fields=["reminder"])
        audit.record(
            actor=REMINDER_ACTOR,
            organisation=letter.organisation,
            action="legality.letter_reminder_sent",
            target=letter,
            payload={
                "stage": stage,
                "due_on": letter.due_on.isoformat(),
                "recipients": len(recipients),
            },
        )
    return stage


def remind(today: date | None = None) -> int:
    """The daily job: every open letter due within ``REMINDER_DAYS`` reminded, each in
    its member's scope. Returns the number of reminders sent."""
    today = today or timezone.localdate()
    until = today + timedelta(days=REMINDER_DAYS)
    return sum(
        1
        for letter_id, organisation_id in crossings.letters_to_remind(until)
        if remind_letter(letter_id=letter_id, organisation_id=organisation_id, today=today)
    )
