"""Use cases of the secure messaging: sending (the buyer to one company or to every
respondent; a company's representative to the buyer), and the read receipts.

Every message is written once, in one durable transaction with: its attachments (private
files, the type read from the bytes), its digest and the platform's RFC 3161 token over
it, one audit event on the buyer's chain and one on the company's, and the e-mails that
tell the other side a message is waiting (a link, never the content; queued in the same
transaction, delivered by the mail job). There is no edit and no delete: the messages
are part of the procedure's file.

Rights: the buyers of the organisation write (role ``buyer``, procurement subscription);
its commission members read. A company's active representatives write for it. Sending is
counted per person (``MUTUALIS_MESSAGE_RATE_PER_USER``), after the rules allowed it, so
that nobody floods the other side's mailbox.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django_scopes import scope

from mutualis.companies import selectors as company_selectors
from mutualis.companies.models import Representative
from mutualis.core import audit, files
from mutualis.core.audit.chain import canonical_json, subject_reference
from mutualis.core.files.store import file_storage
from mutualis.core.links import absolute_url
from mutualis.core.mail import queue_email, render_text
from mutualis.core.models import StoredFile
from mutualis.core.permissions import require_role
from mutualis.core.ratelimit import Limit, take
from mutualis.core.subscriptions import require_subscription
from mutualis.evidence import timestamps
from mutualis.identity.models import Membership
from mutualis.procurement import crossings as procurement_crossings
from mutualis.procurement.models import Consultation

from . import correspondents, errors
from .models import (
    COMPANY_KINDS,
    MAX_BODY,
    MAX_SUBJECT,
    Attachment,
    Message,
    MessageKind,
    Side,
    Thread,
)

BUYER = "buyer"
READERS = ("buyer", "commission_member")
MAX_ATTACHMENTS = 10
ATTACHMENT_OWNER_KIND = "messaging.attachment"
ATTACHMENT_POLICY = "messaging.attachments"
DOCUMENT_FORMAT = "mutualis-message/1"
DEFAULT_RATE = "20/h,100/d"
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_MESSAGE_BYTES = 200 * 1024 * 1024

files.register_policy(ATTACHMENT_POLICY, types=files.PROCUREMENT_DOCUMENT_TYPES)


@dataclasses.dataclass(frozen=True)
class Upload:
    file: IO[bytes] | File[bytes]
    name: str


@dataclasses.dataclass(frozen=True)
class Draft:
    """What the author typed: checked by ``clean``, whatever the caller (form, API)."""

    subject: str
    body: str
    kind: str = MessageKind.GENERAL
    reply_by: datetime | None = None
    uploads: Sequence[Upload] = ()


# --- Checking what was typed ------------------------------------------------------------


def _has_control(text: str, *, allow_lines: bool) -> bool:
    allowed = {"\n", "\r", "\t"} if allow_lines else set()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def clean(draft: Draft, *, side: str, now: datetime) -> Draft:
    """The draft with its text trimmed, or the first refusal."""
    subject = " ".join(str(draft.subject or "").split())
    if not subject or len(subject) > MAX_SUBJECT or _has_control(subject, allow_lines=False):
        raise errors.SubjectInvalid()
    body = str(draft.body or "").strip()
    if not body or len(body) > MAX_BODY or "\x00" in body:
        raise errors.BodyInvalid()
    if draft.kind not in MessageKind.values or (
        side == Side.COMPANY and draft.kind not in COMPANY_KINDS
    ):
        raise errors.KindInvalid()
    if draft.reply_by is not None and (side == Side.COMPANY or draft.reply_by <= now):
        raise errors.ReplyByInvalid()
    if draft.kind == MessageKind.MISSING_DOCUMENTS and draft.reply_by is None:
        raise errors.ReplyByRequired()
    if len(draft.uploads) > MAX_ATTACHMENTS:
        raise errors.TooManyAttachments()
    return dataclasses.replace(draft, subject=subject, body=body)


def _rate_limit(user: Any) -> None:
    rate = getattr(settings, "MUTUALIS_MESSAGE_RATE_PER_USER", DEFAULT_RATE)
    if take([Limit("message-user", str(user.pk), rate)]) is not None:
        raise errors.MessageLimitReached()


def _require_buyer(actor: Any) -> None:
    require_role(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        require_subscription(actor.organisation_id, "procurement")


# --- Attachments --------------------------------------------------------------------------


def _store_uploads(uploads: Sequence[Upload], *, owner_ref: str) -> list[StoredFile]:
    """Store the uploads (inside the caller's transaction); on a refusal, delete the
    bytes already written for this message and let the error go up."""
    max_file = int(getattr(settings, "MUTUALIS_MESSAGE_MAX_FILE_BYTES", DEFAULT_MAX_FILE_BYTES))
    max_total = int(getattr(settings, "MUTUALIS_MESSAGE_MAX_BYTES", DEFAULT_MAX_MESSAGE_BYTES))
    stored: list[StoredFile] = []
    total = 0
    try:
        for upload in uploads:
            stored_file = files.store_file(
                file=upload.file,
                name=upload.name,
                owner_kind=ATTACHMENT_OWNER_KIND,
                owner_ref=owner_ref,
                policy=ATTACHMENT_POLICY,
                max_size=max_file,
            )
            stored.append(stored_file)
            total += stored_file.size
            if total > max_total:
                raise files.errors.FileSetTooLarge(limit=max_total)
    except BaseException:
        storage = file_storage()
        for stored_file in stored:
            with contextlib.suppress(OSError):
                storage.delete(stored_file.key)
        raise
    return stored


# --- Writing a message ----------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def document_of(
    *,
    thread: Thread,
    siren: str,
    side: str,
    author: Any,
    draft: Draft,
    sent_at: datetime,
    stored: Sequence[StoredFile],
) -> dict[str, Any]:
    """The message as stamped: its canonical JSON's SHA-256 is ``Message.digest``."""
    return {
        "format": DOCUMENT_FORMAT,
        "thread": thread.pk,
        "consultation": thread.consultation_id,
        "company": siren,
        "side": side,
        "author": subject_reference(author.audit_pseudonym),
        "kind": draft.kind,
        "subject": draft.subject,
        "body": draft.body,
        "reply_by": _iso(draft.reply_by),
        "sent_at": _iso(sent_at),
        "attachments": [
            {"name": f.original_name, "sha256": f.sha256, "size": f.size} for f in stored
        ],
    }


def _write(
    *,
    thread: Thread,
    consultation: Consultation,
    siren: str,
    side: str,
    actor: Any,
    draft: Draft,
    stored: Sequence[StoredFile],
    now: datetime,
    context: dict[str, Any] | None,
) -> Message:
    """The message row, its attachments, its token and its two audit events."""
    author = actor.user
    digest = hashlib.sha256(
        canonical_json(
            document_of(
                thread=thread,
                siren=siren,
                side=side,
                author=author,
                draft=draft,
                sent_at=now,
                stored=stored,
            )
        )
    ).hexdigest()
    message = Message.for_organisation.create(
        organisation_id=thread.organisation_id,
        thread=thread,
        company_id=thread.company_id,
        side=side,
        author=author,
        kind=draft.kind,
        subject=draft.subject,
        body=draft.body,
        reply_by=draft.reply_by,
        sent_at=now,
        digest=digest,
        timestamp_token=timestamps.stamp(bytes.fromhex(digest)),
    )
    Attachment.for_organisation.bulk_create(
        Attachment(
            organisation_id=thread.organisation_id,
            company_id=thread.company_id,
            message=message,
            file=stored_file,
        )
        for stored_file in stored
    )
    thread.last_message_at = now
    thread.save(update_fields=["last_message_at"])
    payload = {
        "thread": thread.pk,
        "consultation": consultation.pk,
        "company": thread.company_id,
        "side": side,
        "kind": draft.kind,
        "reply_by": _iso(draft.reply_by),
        "digest": digest,
        "attachments": [f.sha256 for f in stored],
    }
    # Both parties keep the event in their own chain. A representative's event on the
    # organisation's chain names the person (a representative may only write on its
    # company's chain); a buyer's on the company's chain names the membership.
    audit.record(
        actor=author if side == Side.COMPANY else actor,
        organisation=consultation.organisation,
        action="messaging.message_sent",
        target=message,
        payload=payload,
        **(context or {}),
    )
    audit.record(
        actor=actor,
        organisation=consultation.organisation,
        chain=audit.company_chain(thread.company_id),
        action="messaging.message_sent",
        target=message,
        payload=payload,
        **(context or {}),
    )
    return message


def _thread_for_update(
    *, consultation: Consultation, company_id: int, side: str, now: datetime
) -> Thread:
    thread, _created = Thread.for_organisation.select_for_update().get_or_create(
        consultation=consultation,
        company_id=company_id,
        defaults={
            "organisation_id": consultation.organisation_id,
            "opened_by": side,
            "created_at": now,
            "last_message_at": now,
        },
    )
    return thread


def _buyer_consultation(actor: Any, consultation_id: int) -> Consultation:
    # Read, not locked: the thread's row serialises the writers of one thread.
    consultation = (
        Consultation.objects.select_related("organisation")
        .filter(pk=consultation_id, organisation_id=actor.organisation_id)
        .first()
    )
    if consultation is None or not consultation.is_public:
        raise Consultation.DoesNotExist
    return consultation


@transaction.atomic(durable=True)
def send_to_company(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    draft: Draft,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Message:
    """A buyer writes to one company about a published consultation: one that responded
    to it or downloaded its files, or already in a thread with the buyer.

    Raises ``Consultation.DoesNotExist`` (not the member's, or never published),
    ``NotACorrespondent``, a refusal of the draft or of a file, ``MessageLimitReached``."""
    _require_buyer(actor)
    now = now or timezone.now()
    draft = clean(draft, side=Side.BUYER, now=now)
    with scope(organisation=actor.organisation_id):
        consultation = _buyer_consultation(actor, consultation_id)
        known = Thread.for_organisation.filter(
            organisation_id=actor.organisation_id,
            consultation=consultation,
            company_id=company_id,
        ).exists()
        if not known and company_id not in correspondents.companies_of(
            organisation_id=actor.organisation_id, consultation_id=consultation.pk
        ):
            raise errors.NotACorrespondent()
        _rate_limit(actor.user)
        stored = _store_uploads(draft.uploads, owner_ref=str(consultation.pk))
        return _send_as_buyer(
            actor=actor,
            consultation=consultation,
            company_id=company_id,
            draft=draft,
            stored=stored,
            now=now,
            context=context,
        )


@transaction.atomic(durable=True)
def send_to_respondents(
    *,
    actor: Any,
    consultation_id: int,
    draft: Draft,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> list[Message]:
    """A buyer writes the same message to every company that responded to the
    consultation: one message in each company's thread (the attached files stored
    once). Counted as one sending."""
    _require_buyer(actor)
    now = now or timezone.now()
    draft = clean(draft, side=Side.BUYER, now=now)
    with scope(organisation=actor.organisation_id):
        consultation = _buyer_consultation(actor, consultation_id)
        companies = sorted(
            correspondents.companies_of(
                organisation_id=actor.organisation_id,
                consultation_id=consultation.pk,
                responded=True,
            )
        )
        if not companies:
            raise errors.NobodyToWrite()
        _rate_limit(actor.user)
        stored = _store_uploads(draft.uploads, owner_ref=str(consultation.pk))
        return [
            _send_as_buyer(
                actor=actor,
                consultation=consultation,
                company_id=company_id,
                draft=draft,
                stored=stored,
                now=now,
                context=context,
            )
            for company_id in companies
        ]


def _send_as_buyer(
    *,
    actor: Any,
    consultation: Consultation,
    company_id: int,
    draft: Draft,
    stored: Sequence[StoredFile],
    now: datetime,
    context: dict[str, Any] | None,
) -> Message:
    thread = _thread_for_update(
        consultation=consultation, company_id=company_id, side=Side.BUYER, now=now
    )
    company = thread.company
    message = _write(
        thread=thread,
        consultation=consultation,
        siren=company.siren,
        side=Side.BUYER,
        actor=actor,
        draft=draft,
        stored=stored,
        now=now,
        context=context,
    )
    _mail_company(thread, consultation, company)
    return message


def request_missing_documents(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    subject: str,
    body: str,
    reply_by: datetime,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Message:
    """Inside the caller's transaction (the admission of candidates, ``deposits``): the
    request for missing documents to a candidate (R2144-2), with the date by which they
    are awaited. Not counted by the rate limit: one per candidate, by a buyer's decision."""
    return _buyer_decision_message(
        actor=actor,
        consultation_id=consultation_id,
        company_id=company_id,
        draft=Draft(
            subject=subject, body=body, kind=MessageKind.MISSING_DOCUMENTS, reply_by=reply_by
        ),
        now=now,
        context=context,
    )


def _buyer_decision_message(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    draft: Draft,
    now: datetime | None,
    context: dict[str, Any] | None,
) -> Message:
    """A buyer's message that a decision of the procedure sends (a request for missing
    documents, an invitation to negotiate), inside the caller's transaction; not counted
    by the rate limit."""
    _require_buyer(actor)
    now = now or timezone.now()
    draft = clean(draft, side=Side.BUYER, now=now)
    with scope(organisation=actor.organisation_id):
        consultation = _buyer_consultation(actor, consultation_id)
        return _send_as_buyer(
            actor=actor,
            consultation=consultation,
            company_id=company_id,
            draft=draft,
            stored=(),
            now=now,
            context=context,
        )


def invite_to_negotiate(
    *,
    actor: Any,
    consultation_id: int,
    company_id: int,
    subject: str,
    body: str,
    reply_by: datetime,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Message:
    """Inside the caller's transaction (the opening of a negotiation round,
    ``evaluation.negotiation``): the invitation to negotiate sent to one bidder the
    round invites, about the round's consultation, with the round's deadline as the
    date the improved offer is awaited by. Not counted by the rate limit: one per
    invited bidder, by a buyer's decision."""
    return _buyer_decision_message(
        actor=actor,
        consultation_id=consultation_id,
        company_id=company_id,
        draft=Draft(subject=subject, body=body, kind=MessageKind.NEGOTIATION, reply_by=reply_by),
        now=now,
        context=context,
    )


@transaction.atomic(durable=True)
def send_from_company(
    *,
    representative: Any,
    consultation_id: int,
    draft: Draft,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Message:
    """A company's representative writes to the buyer of a consultation: in the thread
    the buyer opened, or in a new one when the company responded to the consultation,
    downloaded its files, or is invited to its offer phase.

    Raises ``Consultation.DoesNotExist`` when the company may not write about it (its
    pages answer 404), a refusal of the draft or of a file, ``MessageLimitReached``."""
    company_id = representative.company_id
    now = now or timezone.now()
    draft = clean(draft, side=Side.COMPANY, now=now)
    with scope(company=company_id):
        thread = (
            Thread.for_company.select_for_update(of=("self",))
            .select_related("consultation__organisation", "company")
            .filter(company_id=company_id, consultation_id=consultation_id)
            .first()
        )
        if thread is not None:
            consultation = thread.consultation
        else:
            found = procurement_crossings.depositable_consultation(consultation_id, [company_id])
            if found is None or (
                found.parent_id is None
                and found.pk not in correspondents.consultations_of(company_id=company_id)
            ):
                raise Consultation.DoesNotExist
            consultation = found
        _rate_limit(representative.user)
        stored = _store_uploads(draft.uploads, owner_ref=str(consultation.pk))
        if thread is None:
            thread, _created = Thread.for_company.get_or_create(
                consultation=consultation,
                company_id=company_id,
                defaults={
                    "organisation_id": consultation.organisation_id,
                    "opened_by": Side.COMPANY,
                    "created_at": now,
                    "last_message_at": now,
                },
            )
        company = thread.company
        message = _write(
            thread=thread,
            consultation=consultation,
            siren=company.siren,
            side=Side.COMPANY,
            actor=representative,
            draft=draft,
            stored=stored,
            now=now,
            context=context,
        )
        _mail_buyers(thread, consultation, company)
    return message


# --- Read receipts --------------------------------------------------------------------------


def _record_reading(
    *, thread: Thread, reader_side: str, actor: Any, now: datetime, chain_actor: Any
) -> int:
    manager = Message.for_organisation if reader_side == Side.BUYER else Message.for_company
    other = Side.COMPANY if reader_side == Side.BUYER else Side.BUYER
    unread = list(
        manager.select_for_update()
        .filter(thread=thread, side=other, read_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not unread:
        return 0
    manager.filter(pk__in=unread, read_at__isnull=True).update(read_at=now, read_by=actor.user)
    payload = {"thread": thread.pk, "messages": unread, "at": _iso(now)}
    organisation = thread.consultation.organisation
    audit.record(
        actor=chain_actor,
        organisation=organisation,
        action="messaging.messages_read",
        target=thread,
        payload=payload,
    )
    audit.record(
        actor=actor,
        organisation=organisation,
        chain=audit.company_chain(thread.company_id),
        action="messaging.messages_read",
        target=thread,
        payload=payload,
    )
    return len(unread)


@transaction.atomic(durable=True)
def read_as_buyer(*, actor: Any, thread_id: int, now: datetime | None = None) -> Thread | None:
    """The buyer's thread (None: not the member's); the company's messages not read yet
    are marked read by this person (their first reading on the buyer's side)."""
    require_role(actor, *READERS)
    with scope(organisation=actor.organisation_id):
        thread = (
            Thread.for_organisation.select_related("consultation__organisation", "company")
            .filter(organisation_id=actor.organisation_id, pk=thread_id)
            .first()
        )
        if thread is None:
            return None
        _record_reading(
            thread=thread,
            reader_side=Side.BUYER,
            actor=actor,
            now=now or timezone.now(),
            chain_actor=actor,
        )
    return thread


@transaction.atomic(durable=True)
def read_as_company(
    *, representative: Any, thread_id: int, now: datetime | None = None
) -> Thread | None:
    """The company's thread (None: not its own); the buyer's messages not read yet are
    marked read by this representative."""
    company_id = representative.company_id
    with scope(company=company_id):
        thread = (
            Thread.for_company.select_related("consultation__organisation", "company")
            .filter(company_id=company_id, pk=thread_id)
            .first()
        )
        if thread is None:
            return None
        _record_reading(
            thread=thread,
            reader_side=Side.COMPANY,
            actor=representative,
            now=now or timezone.now(),
            chain_actor=representative.user,
        )
    return thread


# --- Telling the other side -----------------------------------------------------------------


def _mail(*, to: list[str], template: str, context: dict[str, Any]) -> None:
    """One e-mail per address in the platform's language, with the link only."""
    context = {**context, "platform_name": settings.MUTUALIS_PLATFORM_NAME}
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_text(f"messaging/email/{template}_subject.txt", context).split())
        body = render_text(f"messaging/email/{template}_message.txt", context)
    for address in to:
        queue_email(to=address, subject=subject, body_text=body)


def _mail_company(thread: Thread, consultation: Consultation, company: Any) -> None:
    """The company's administrators, and its representatives who wrote in the thread."""
    with scope(company=company.pk):
        authors = Message.for_company.filter(thread=thread, side=Side.COMPANY).values("author_id")
        writers = list(
            Representative.objects.filter(
                company_id=company.pk, is_active=True, user_id__in=authors
            ).values_list("user__email", flat=True)
        )
    link = absolute_url(
        reverse("company_messages:thread", kwargs={"company": company.siren, "pk": thread.pk})
    )
    _mail(
        to=company_selectors.notified_emails(company.pk, *writers),
        template="to_company",
        context={"consultation": consultation, "company": company, "link": link},
    )


def _mail_buyers(thread: Thread, consultation: Consultation, company: Any) -> None:
    """The active buyers of the member."""
    organisation = consultation.organisation
    with scope(organisation=organisation.pk):
        addresses = sorted(
            {
                email
                for email in Membership.objects.filter(
                    organisation_id=organisation.pk, is_active=True, roles__code=BUYER
                ).values_list("user__email", flat=True)
                if email
            }
        )
    link = absolute_url(
        reverse("messaging:thread", kwargs={"org": organisation.slug, "pk": thread.pk})
    )
    _mail(
        to=addresses,
        template="to_buyer",
        context={"consultation": consultation, "company": company, "link": link},
    )
