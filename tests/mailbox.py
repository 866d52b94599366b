"""What a recipient reads: the outbox keeps single-use links sealed, then wipes them once
sent (mutualis.core.mail), so tests that follow a link read the message as it is sent:
from the test mailbox (``django.core.mail.outbox``) when it was sent, else built from the
row as the worker would build it."""

from django.core import mail as django_mail
from django.core.mail import EmailMessage

from mutualis.core.mail import build_message
from mutualis.core.models import OutgoingEmail


def delivered(email: OutgoingEmail) -> EmailMessage:
    for message in django_mail.outbox:
        if email.message_id and message.extra_headers.get("Message-ID") == email.message_id:
            return message
    return build_message(email)


def delivered_text(email: OutgoingEmail) -> str:
    """The text body of ``email`` as its recipient gets it, links included."""
    return str(delivered(email).body)


def delivered_html(email: OutgoingEmail) -> str:
    message = delivered(email)
    alternatives = getattr(message, "alternatives", [])
    return "".join(str(c) for c, mimetype in alternatives if mimetype == "text/html")
