"""Outgoing e-mail: written to a table in the caller's transaction, sent by a job.

A failed SMTP delivery is retried with exponential back-off a bounded number of times
(MUTUALIS_EMAIL_MAX_ATTEMPTS), then left as "failed" for the operator's back office.

Delivery never holds a transaction across the network: a worker claims the row (one
short write, committed), sends with EMAIL_TIMEOUT, then records the result (another
short write). A slow or stalled SMTP server therefore costs the worker its time, never
the platform's writes (on SQLite a transaction held during the exchange kept the only
write lock; on PostgreSQL it kept a transaction open). The price is delivery at least
once: a worker that dies after the server accepted the message leaves a claim that
expires (MUTUALIS_EMAIL_CLAIM_SECONDS) and the message is sent again, with the same
Message-ID, which the recipient's software uses to recognise the copy.

Single-use links (``queue_email(secrets=...)``) never reach the stored text: they are
replaced by markers there and kept encrypted beside it until the e-mail is sent or has
failed for good (see ``_seal``), so that neither operator staff nor a database backup
reads a working password-reset or invitation link.

An e-mail may carry attachments (``Attachment``: a PDF receipt), extra headers
(``List-Unsubscribe``) and alternative parts (``Alternative``: an HTML body, an iCalendar
invitation). They are checked when queued, not when sent: a header that would inject
lines, or an attachment too large to send, is the caller's mistake, refused at once,
rather than a delivery failure retried for hours.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import secrets as secrets_module
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from email.utils import make_msgid
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.template import engines
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext

from .errors import (
    EmailAlternativeRefused,
    EmailAttachmentRefused,
    EmailAttachmentsTooLarge,
    EmailHeaderRefused,
)
from .models import EmailAttachment, OutgoingEmail
from .sealing import sealer

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
    secrets: Sequence[str] = (),
) -> OutgoingEmail:
    """Write an e-mail to the outbox; a job sends it once the caller's transaction commits.

    ``secrets`` are the strings that must not be stored (a password-reset link, an
    invitation link, a confirmation key): wherever they appear in the subject, the
    bodies or the alternatives, the stored copy holds a marker instead, and the
    recipient alone gets them.

    Raises an ``EmailRefused`` error for a header that could inject lines or that the
    platform sets itself, an alternative that is not text, a bad attachment name or type,
    or attachments above MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES in total.
    """
    checked_headers = _checked_headers(headers or {})
    checked_alternatives = _checked_alternatives(alternatives)
    checked_attachments = _checked_attachments(attachments)
    subject = " ".join(subject.splitlines())
    sealed = _seal(
        {"subject": subject, "body_text": body_text, "body_html": body_html},
        checked_alternatives,
        secrets,
    )
    email = OutgoingEmail.objects.create(
        to=to,
        subject=sealed.parts["subject"][:300],
        body_text=sealed.parts["body_text"],
        body_html=sealed.parts["body_html"],
        alternatives=sealed.alternatives,
        headers=checked_headers,
        next_attempt_at=timezone.now(),
        message_id=new_message_id(),
        carries_secrets=bool(sealed.token),
        sealed_secrets=sealed.token,
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


def render_text(template_name: str, context: Mapping[str, Any]) -> str:
    """A plain-text template (an e-mail's subject or body), rendered without HTML
    escaping: "Dupont & Fils" stays so, not "Dupont &amp; Fils". Every ``.txt`` template
    of an e-mail goes through here; HTML ones through ``render_to_string``, escaped."""
    return str(engines["text"].get_template(template_name).render(dict(context)))


def new_message_id() -> str:
    """A Message-ID on the platform's own domain (the host of MUTUALIS_SITE_URL), rather
    than the worker machine's name, which changes from one worker to the next."""
    domain = urlsplit(settings.MUTUALIS_SITE_URL).hostname or "localhost"
    return make_msgid(idstring="mutualis", domain=domain)


# --- Secrets: sealed when queued, unsealed to send, wiped after -------------------------

_SECRET_MARKER = re.compile(r"\[mutualis-secret:[0-9a-f]{12}:\d+h?\]")


@dataclasses.dataclass(frozen=True)
class _Sealed:
    parts: dict[str, str]
    alternatives: list[dict[str, str]]
    token: str


def _fernet() -> MultiFernet:
    # Under SECRET_KEY (and its fallbacks, so that a rotation does not lose the links of
    # e-mails still queued): the database never holds it.
    return sealer("mutualis.core.mail.secrets")


def _seal(
    parts: dict[str, str], alternatives: list[dict[str, str]], secrets: Sequence[str]
) -> _Sealed:
    wanted = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not wanted:
        return _Sealed(parts, alternatives, "")
    # A random part: a name typed by someone (a company's) cannot carry a marker that
    # would be replaced by the link.
    nonce = secrets_module.token_hex(6)
    # form in the text -> its marker; the HTML-escaped form has its own marker, so that
    # each goes back where it was.
    markers: dict[str, str] = {}
    for number, secret in enumerate(wanted):
        markers[secret] = f"[mutualis-secret:{nonce}:{number}]"
        if str(escape(secret)) != secret:
            markers[str(escape(secret))] = f"[mutualis-secret:{nonce}:{number}h]"
    # One pass, longest first: a link is replaced whole before the key it contains, and
    # a marker just written is never searched again.
    pattern = re.compile("|".join(re.escape(f) for f in sorted(markers, key=len, reverse=True)))
    texts = [
        pattern.sub(lambda m: markers[m.group(0)], text)
        for text in [*parts.values(), *(a["content"] for a in alternatives)]
    ]
    mapping = {marker: form for form, marker in markers.items()}
    names = list(parts)
    sealed_parts = dict(zip(names, texts[: len(names)], strict=True))
    sealed_alternatives = [
        {**alternative, "content": text}
        for alternative, text in zip(alternatives, texts[len(names) :], strict=True)
    ]
    token = _fernet().encrypt(json.dumps(mapping).encode()).decode()
    return _Sealed(sealed_parts, sealed_alternatives, token)


class SecretsUnreadable(Exception):
    """The sealed links of an e-mail cannot be decrypted (SECRET_KEY changed without a
    fallback): the e-mail would carry markers instead of links, so it is not sent."""


def _unseal(email: OutgoingEmail) -> Callable[[str], str]:
    if not email.sealed_secrets:
        if email.carries_secrets:
            raise SecretsUnreadable("the e-mail's single-use links were already removed")
        return lambda text: text
    try:
        mapping = json.loads(_fernet().decrypt(email.sealed_secrets.encode()))
    except InvalidToken as exc:
        raise SecretsUnreadable("the e-mail's single-use links cannot be decrypted") from exc
    return lambda text: _SECRET_MARKER.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


def redacted(text: str) -> str:
    """The stored text as operator staff read it: each single-use link's marker named."""
    return _SECRET_MARKER.sub(gettext("[single-use link, sent to the recipient only]"), text)


# --- Delivery ---------------------------------------------------------------------------


def build_message(email: OutgoingEmail) -> EmailMultiAlternatives:
    """The message the job sends for ``email``: text body, alternatives, attachments,
    its single-use links put back. Raises ``SecretsUnreadable`` when they cannot be."""
    reveal = _unseal(email)
    headers = dict(email.headers)
    if email.message_id:
        headers["Message-ID"] = email.message_id
    message = EmailMultiAlternatives(
        subject=reveal(email.subject),
        body=reveal(email.body_text),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers=headers,
    )
    if email.body_html:
        message.attach_alternative(reveal(email.body_html), "text/html")
    for alternative in email.alternatives:
        message.attach_alternative(reveal(alternative["content"]), alternative["mimetype"])
    for attachment in email.attachments.order_by("position"):
        message.attach(attachment.filename, bytes(attachment.content), attachment.content_type)
    return message


def retry_delay(attempts: int) -> timedelta:
    """Back-off after the n-th failed attempt: base, 2 * base, 4 * base..."""
    return timedelta(seconds=settings.MUTUALIS_EMAIL_RETRY_BASE_SECONDS * 2 ** (attempts - 1))


T = TypeVar("T")


def _short_write(write: Callable[[], T], *, tries: int = 3) -> T:
    """One short write, tried again if the database is locked or briefly unreachable.
    The last failure is raised: the claim then expires and the e-mail is tried again."""
    for attempt in range(1, tries + 1):
        try:
            return write()
        except OperationalError:
            if attempt == tries:
                raise
            logger.warning("Outbox write failed (attempt %s of %s); trying again.", attempt, tries)
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _claim(email_id: int) -> str | None:
    """Take the e-mail for one attempt, in one committed write; None when it is not
    queued or another worker's claim on it has not expired."""
    now = timezone.now()
    token = secrets_module.token_hex(16)
    claimed = (
        OutgoingEmail.objects.filter(pk=email_id, status=OutgoingEmail.Status.QUEUED)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(
            claimed_until=now + timedelta(seconds=settings.MUTUALIS_EMAIL_CLAIM_SECONDS),
            claim_token=token,
            attempts=F("attempts") + 1,
        )
    )
    return token if claimed else None


def _finish(email: OutgoingEmail, token: str, *, error: str = "", final: bool = False) -> None:
    """Record an attempt's result: sent (``error`` empty) or failed, then retried later or,
    when ``final``, failed for good. Either end wipes the sealed links."""
    now = timezone.now()
    queued = OutgoingEmail.objects.filter(pk=email.pk, status=OutgoingEmail.Status.QUEUED)
    released: dict[str, Any] = {"claimed_until": None, "claim_token": ""}
    if not error:
        # A success is recorded even if the claim expired meanwhile: it is the truth.
        queued.update(
            status=OutgoingEmail.Status.SENT,
            sent_at=now,
            next_attempt_at=None,
            last_error="",
            sealed_secrets="",
            **released,
        )
    elif final:
        queued.filter(claim_token=token).update(
            status=OutgoingEmail.Status.FAILED,
            next_attempt_at=None,
            last_error=error,
            sealed_secrets="",
            **released,
        )
        logger.error("E-mail %s failed for good: %s", email.pk, error)
    else:
        queued.filter(claim_token=token).update(
            next_attempt_at=now + retry_delay(email.attempts), last_error=error, **released
        )


def deliver(email_id: int) -> OutgoingEmail | None:
    """Try to send one queued e-mail now; None when there is nothing to do (sent, failed,
    or claimed by another worker). Never inside a transaction: see the module's note."""
    token = _short_write(lambda: _claim(email_id))
    if token is None:
        return None
    email = OutgoingEmail.objects.get(pk=email_id)
    if not email.message_id:  # queued before Message-IDs were stored
        message_id = new_message_id()
        _short_write(
            lambda: OutgoingEmail.objects.filter(pk=email_id, message_id="").update(
                message_id=message_id
            )
        )
        email.refresh_from_db(fields=["message_id"])
    try:
        message = build_message(email)
    except SecretsUnreadable as exc:
        unreadable = str(exc)
        _short_write(lambda: _finish(email, token, error=unreadable, final=True))
    else:
        try:
            message.send()
        except Exception as exc:  # any transport failure (a timeout included) is retried
            error = f"{type(exc).__name__}: {exc}"[:2000]
            final = email.attempts >= settings.MUTUALIS_EMAIL_MAX_ATTEMPTS
            _short_write(lambda: _finish(email, token, error=error, final=final))
        else:
            _short_write(lambda: _finish(email, token))
    email.refresh_from_db()
    return email


def fail_abandoned_emails() -> int:
    """E-mails whose last claim expired (a worker died while sending) after their last
    allowed attempt: failed for good, their links wiped, like any final failure."""
    now = timezone.now()
    abandoned = OutgoingEmail.objects.filter(
        status=OutgoingEmail.Status.QUEUED,
        claimed_until__lte=now,
        attempts__gte=settings.MUTUALIS_EMAIL_MAX_ATTEMPTS,
    )
    count = abandoned.update(
        status=OutgoingEmail.Status.FAILED,
        next_attempt_at=None,
        claimed_until=None,
        claim_token="",
        sealed_secrets="",
        last_error="Abandoned: the worker sending it stopped before recording the result.",
    )
    if count:
        logger.error("%s e-mails abandoned by their workers marked failed.", count)
    return count


def due_email_ids(limit: int = 500) -> list[int]:
    now = timezone.now()
    return list(
        OutgoingEmail.objects.filter(status=OutgoingEmail.Status.QUEUED, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
