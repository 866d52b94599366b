"""E-mails are written to a table, sent by a job, retried with back-off, then reported."""

from datetime import timedelta
from smtplib import SMTPException

import pytest
from django.core import mail as django_mail
from django.utils import timezone

from mutualis.core import mail
from mutualis.core.models import OutgoingEmail
from mutualis.core.tasks import retry_due_emails


@pytest.mark.django_db
def test_a_queued_email_is_sent_by_the_job_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = mail.queue_email(
            to="a@example.org", subject="Hello", body_text="Text", body_html="<p>Text</p>"
        )
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT
    assert email.attempts == 1
    assert len(django_mail.outbox) == 1
    assert django_mail.outbox[0].alternatives[0].mimetype == "text/html"


@pytest.mark.django_db
def test_nothing_is_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        mail.queue_email(to="a@example.org", subject="Hello", body_text="Text")
    assert len(callbacks) == 1  # deferred to commit, never run on rollback
    assert django_mail.outbox == []


@pytest.fixture
def failing_smtp(monkeypatch):
    def fail(self, *args, **kwargs):
        raise SMTPException("421 try again later")

    monkeypatch.setattr("django.core.mail.message.EmailMessage.send", fail)


@pytest.mark.django_db
def test_an_smtp_failure_is_retried_with_growing_back_off(failing_smtp, settings):
    settings.MUTUALIS_EMAIL_RETRY_BASE_SECONDS = 60
    email = OutgoingEmail.objects.create(to="a@example.org", subject="S", body_text="T")
    before = timezone.now()
    mail.deliver(email.pk)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.QUEUED
    assert "421" in email.last_error
    first_delay = email.next_attempt_at - before
    assert timedelta(seconds=59) < first_delay < timedelta(seconds=70)
    mail.deliver(email.pk)
    email.refresh_from_db()
    assert email.next_attempt_at - timezone.now() > timedelta(seconds=110)


@pytest.mark.django_db
def test_after_the_last_attempt_the_email_is_failed_for_the_back_office(failing_smtp, settings):
    settings.MUTUALIS_EMAIL_MAX_ATTEMPTS = 3
    email = OutgoingEmail.objects.create(to="a@example.org", subject="S", body_text="T")
    for _ in range(5):
        mail.deliver(email.pk)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.FAILED
    assert email.attempts == 3
    assert email.next_attempt_at is None


@pytest.mark.django_db
def test_the_retry_job_sends_only_due_emails():
    due = OutgoingEmail.objects.create(
        to="due@example.org", subject="S", body_text="T", next_attempt_at=timezone.now()
    )
    later = OutgoingEmail.objects.create(
        to="later@example.org",
        subject="S",
        body_text="T",
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    retry_due_emails.call()
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == OutgoingEmail.Status.SENT
    assert later.status == OutgoingEmail.Status.QUEUED
    # Idempotent: a second run sends nothing more.
    retry_due_emails.call()
    assert len(django_mail.outbox) == 1
