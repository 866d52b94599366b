"""Outgoing e-mail: written to a table in the caller's transaction, sent by a job.

A failed SMTP delivery is retried with exponential back-off a bounded number of times
(MUTUALIS_EMAIL_MAX_ATTEMPTS), then left as "failed" for the operator's back office.

An e-mail may carry attachments (``Attachment``: a PDF receipt), extra headers
(``List-Unsubscribe``) and alternative parts (``Alternative``: an HTML body, an iCalendar
invitation). They are checked when queued, not when sent: a header that would inject
lines, or an attachment too large to send, is the caller's mistake, refused at once,
rather than a delivery failure retried for hours.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from .errors import (
    EmailAlternativeRefused,
    EmailAttachmentRefused,
    EmailAttachmentsTooLarge,
    EmailHeaderRefused,
)
from .models import EmailAttachment, OutgoingEmail

logger = logging.getLogger(__name__)

# RFC 5322 field names: printable US-ASCII except the colon.
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")
# "type/subtype" with optional parameters ("text/calendar; method=REQUEST").
_MIMETYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+(;[ -~]*)?$")
# Headers the platform writes itself: a caller setting them would change who the e-mail
# goes to or how it is parsed.
_RESERVED_HEADERS = frozenset(
    {
        "bcc",
        "cc",
        "content-disposition",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "return-path",
        "sender",
        "subject",
        "to",
    }
)
_LINE_BREAKS = ("\r", "\n", "\0")


@dataclasses.dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail: its name as the recipient sees it, type and bytes."""

    filename: str
    content_type: str
    content: bytes


@dataclasses.dataclass(frozen=True)
class Alternative:
    """Another rendering of the text, e.g. ``Alternative(ics, "text/calendar; method=REQUEST")``."""

    content: str
    mimetype: str


def _has_line_break(value: str) -> bool:
    return any(c in value for c in _LINE_BREAKS)


def _checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise EmailHeaderRefused(name)
        if name.lower() in _RESERVED_HEADERS:
            raise EmailHeaderRefused(name)
        # A CR or LF in a value would start a header (or the body) of the caller's
        # choosing: the classic header injection.
        if not isinstance(value, str) or _has_line_break(value):
            raise EmailHeaderRefused(name)
        checked[name] = value
    return checked


def _checked_alternatives(alternatives: Sequence[Alternative]) -> list[dict[str, str]]:
    checked = []
    for alternative in alternatives:
        mimetype = alternative.mimetype
        if not _MIMETYPE.match(mimetype) or not mimetype.lower().startswith("text/"):
            raise EmailAlternativeRefused(mimetype)
        checked.append({"mimetype": mimetype, "content": alternative.content})
    return checked


def _checked_attachments(attachments: Sequence[Attachment]) -> list[Attachment]:
    total = 0
    for attachment in attachments:
        name = attachment.filename
        if not name or _has_line_break(name) or "/" in name or "\\" in name:
            raise EmailAttachmentRefused(name)
        if not _MIMETYPE.match(attachment.content_type):
            raise EmailAttachmentRefused(name)
        total += len(attachment.content)
    if total > settings.MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES:
        raise EmailAttachmentsTooLarge(total, settings.MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES)
    return list(attachments)


def queue_email(
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    alternatives: Sequence[Alternative] = (),
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
) -> OutgoingEmail:
    """Write an e-mail to the outbox; a job sends it once the caller's transaction commits.

    Raises an ``EmailRefused`` error for a header that could inject lines or that the
    platform sets itself, an alternative that is not text, a bad attachment name or type,
    or attachments above MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES in total.
    """
    checked_headers = _checked_headers(headers or {})
    checked_alternatives = _checked_alternatives(alternatives)
    checked_attachments = _checked_attachments(attachments)
    email = OutgoingEmail.objects.create(
        to=to,
        subject=" ".join(subject.splitlines())[:300],
        body_text=body_text,
        body_html=body_html,
        alternatives=checked_alternatives,
        headers=checked_headers,
        next_attempt_at=timezone.now(),
    )
    EmailAttachment.objects.bulk_create(
        EmailAttachment(
            email=email,
            position=position,
            filename=attachment.filename,
            content_type=attachment.content_type,
            content=attachment.content,
            size=len(attachment.content),
        )
        for position, attachment in enumerate(checked_attachments)
    )
    from .tasks import send_outgoing_email

    transaction.on_commit(lambda: send_outgoing_email.enqueue(email_id=email.pk))
    return email


def build_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    """The message the job sends for ``email``: text body, alternatives, attachments."""
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers=dict(email.headers),
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    for alternative in email.alternatives:
        message.attach_alternative(alternative["content"], alternative["mimetype"])
    for attachment in email.attachments.order_by("position"):
        message.attach(attachment.filename, bytes(attachment.content), attachment.content_type)
    return message


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: base, 2 * base, 4 * base..."""
    return timedelta(seconds=settings.MUTUALIS_EMAIL_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


def deliver(email_id: int) -> OutgoingEmail | None:
    """Try to send one queued e-mail now. Idempotent: a sent or failed e-mail is left alone,
    and two workers never send the same e-mail (the row is locked while sending)."""
    with transaction.atomic():
        email = (
            OutgoingEmail.objects.select_for_update()
            .filter(pk=email_id, status=OutgoingEmail.Status.QUEUED)
            .first()
        )
        if email is None:
            return None
        message = build_message(email)
        email.attempts += 1
        try:
            message.send()
        except Exception as exc:  # any transport failure is retried, then reported
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= settings.MUTUALIS_EMAIL_MAX_ATTEMPTS:
                email.status = OutgoingEmail.Status.FAILED
                email.next_attempt_at = None
                logger.error("E-mail %s failed for good: %s", email.pk, email.last_error)
            else:
                email.next_attempt_at = timezone.now() + retry_delay(email.attempts)
        else:
            email.status = OutgoingEmail.Status.SENT
            email.sent_at = timezone.now()
            email.next_attempt_at = None
            email.last_error = ""
        email.save()
        return email


def due_email_ids(limit: int = 500) -> list[int]:
    return list(
        OutgoingEmail.objects.filter(
            status=OutgoingEmail.Status.QUEUED, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
