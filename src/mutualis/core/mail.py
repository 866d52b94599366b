"""Outgoing e-mail: written to a table in the caller's transaction, sent by a job.

A failed SMTP delivery is retried with exponential back-off a bounded number of times
(MUTUALIS_EMAIL_MAX_ATTEMPTS), then left as "failed" for the operator's back office.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from .models import OutgoingEmail

logger = logging.getLogger(__name__)


def queue_email(*, to: str, subject: str, body_text: str, body_html: str = "") -> OutgoingEmail:
    email = OutgoingEmail.objects.create(
        to=to,
        subject=subject[:300],
        body_text=body_text,
        body_html=body_html,
        next_attempt_at=timezone.now(),
    )
    from .tasks import send_outgoing_email

    transaction.on_commit(lambda: send_outgoing_email.enqueue(email_id=email.pk))
    return email


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
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
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
