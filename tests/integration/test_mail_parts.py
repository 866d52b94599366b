"""E-mails carry attachments, extra headers and alternative parts, checked when queued.

The assertions read the MIME message the job really sends (Django's locmem backend keeps
it), parsed back as a mail client would.
"""

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from django.core import mail as django_mail

from mutualis.core import mail
from mutualis.core.errors import (
    EmailAlternativeRefused,
    EmailAttachmentRefused,
    EmailAttachmentsTooLarge,
    EmailHeaderRefused,
)
from mutualis.core.models import EmailAttachment, OutgoingEmail

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Mutualis//FR\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:ouverture-42@mutualis\r\nDTSTAMP:20270105T090000Z\r\n"
    "DTSTART:20270110T090000Z\r\nSUMMARY:Ouverture des plis\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
UNSUBSCRIBE = "<https://mutualis.example.fr/alertes/desinscription/abc>"


def sent(django_capture_on_commit_callbacks, **kwargs) -> EmailMessage:
    """Queue an e-mail, let the job send it, and parse what left."""
    with django_capture_on_commit_callbacks(execute=True):
        email = mail.queue_email(
            to="agent@example.org", subject="Reçu", body_text="Texte", **kwargs
        )
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENT, email.last_error
    assert len(django_mail.outbox) == 1
    raw = django_mail.outbox[0].message().as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_an_attachment_leaves_with_its_name_type_and_bytes(django_capture_on_commit_callbacks):
    message = sent(
        django_capture_on_commit_callbacks,
        attachments=[mail.Attachment("accusé de réception.pdf", "application/pdf", PDF)],
    )

    assert message.get_content_type() == "multipart/mixed"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "accusé de réception.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_content() == PDF
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().strip() == "Texte"


def test_the_attachments_bytes_are_stored_with_the_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        email = mail.queue_email(
            to="a@example.org",
            subject="S",
            body_text="T",
            attachments=[
                mail.Attachment("a.pdf", "application/pdf", PDF),
                mail.Attachment("b.txt", "text/plain", b"deux"),
            ],
        )

    rows = list(EmailAttachment.objects.filter(email=email))
    assert [(r.position, r.filename, r.size) for r in rows] == [
        (0, "a.pdf", len(PDF)),
        (1, "b.txt", 4),
    ]
    assert bytes(rows[0].content) == PDF


def test_list_unsubscribe_headers_are_sent(django_capture_on_commit_callbacks):
    message = sent(
        django_capture_on_commit_callbacks,
        headers={
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )

    assert message["List-Unsubscribe"] == UNSUBSCRIBE
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_calendar_invitation_is_an_alternative_of_the_text(django_capture_on_commit_callbacks):
    message = sent(
        django_capture_on_commit_callbacks,
        body_html="<p>Texte</p>",
        alternatives=[mail.Alternative(ICS, "text/calendar; method=REQUEST")],
    )

    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html", "text/calendar"]
    calendar = parts[2]
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_content_disposition() is None  # shown inline, not as a file
    assert "SUMMARY:Ouverture des plis" in calendar.get_content()


def test_alternatives_and_attachments_together_nest_as_clients_expect(
    django_capture_on_commit_callbacks,
):
    message = sent(
        django_capture_on_commit_callbacks,
        alternatives=[mail.Alternative(ICS, "text/calendar; method=REQUEST")],
        attachments=[mail.Attachment("invitation.ics", "application/ics", ICS.encode())],
    )

    assert message.get_content_type() == "multipart/mixed"
    first, second = message.iter_parts()
    assert first.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in first.iter_parts()] == ["text/plain", "text/calendar"]
    assert second.get_filename() == "invitation.ics"


@pytest.mark.parametrize(
    "headers",
    [
        {"List-Unsubscribe": "<https://x/u>\r\nBcc: victim@example.org"},
        {"List-Unsubscribe": "<https://x/u>\nBcc: victim@example.org"},
        {"List-Unsubscribe": "<https://x/u>\rX: y"},
        {"X-Bad\r\nBcc": "victim@example.org"},
        {"X Space": "value"},
        {"X-Colon:": "value"},
        {"Bcc": "victim@example.org"},
        {"To": "victim@example.org"},
        {"content-type": "text/html"},
    ],
)
def test_a_header_that_could_inject_or_redirect_is_refused(headers):
    with pytest.raises(EmailHeaderRefused) as refused:
        mail.queue_email(to="a@example.org", subject="S", body_text="T", headers=headers)

    assert refused.value.code == "email_header_refused"
    assert not OutgoingEmail.objects.exists()


def test_a_subject_with_line_breaks_is_written_on_one_line():
    email = mail.queue_email(
        to="a@example.org", subject="Reçu\r\nBcc: x@example.org", body_text="T"
    )

    assert email.subject == "Reçu Bcc: x@example.org"


@pytest.mark.parametrize("mimetype", ["application/pdf", "text/html\r\nX-Injected: 1", "html"])
def test_an_alternative_must_be_text(mimetype):
    with pytest.raises(EmailAlternativeRefused):
        mail.queue_email(
            to="a@example.org",
            subject="S",
            body_text="T",
            alternatives=[mail.Alternative("x", mimetype)],
        )


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("", "application/pdf"),
        ("../../etc/passwd", "application/pdf"),
        ("reçu.pdf\r\nX-Injected: 1", "application/pdf"),
        ("reçu.pdf", "pdf"),
        ("reçu.pdf", "application/pdf\r\nX-Injected: 1"),
    ],
)
def test_a_bad_attachment_name_or_type_is_refused(filename, content_type):
    with pytest.raises(EmailAttachmentRefused):
        mail.queue_email(
            to="a@example.org",
            subject="S",
            body_text="T",
            attachments=[mail.Attachment(filename, content_type, b"x")],
        )


def test_attachments_above_the_limit_are_refused_when_queued(settings):
    settings.MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES = 1000
    attachments = [
        mail.Attachment("a.pdf", "application/pdf", b"a" * 600),
        mail.Attachment("b.pdf", "application/pdf", b"b" * 600),
    ]

    with pytest.raises(EmailAttachmentsTooLarge) as refused:
        mail.queue_email(to="a@example.org", subject="S", body_text="T", attachments=attachments)

    assert refused.value.code == "email_attachments_too_large"
    assert not OutgoingEmail.objects.exists()
    # Below the limit, it goes.
    mail.queue_email(to="a@example.org", subject="S", body_text="T", attachments=attachments[:1])
    assert EmailAttachment.objects.count() == 1
