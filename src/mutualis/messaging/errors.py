"""Errors of the secure messaging: a stable ``code`` and a translatable ``message``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError


class MessagingError(MutualisError):
    code = "messaging_error"


class SubjectInvalid(MessagingError):
    code = "subject_invalid"
    field_name = "subject"
    message = _("Give a subject of at most 200 characters, without control characters.")


class BodyInvalid(MessagingError):
    code = "body_invalid"
    field_name = "body"
    message = _("Write a message of at most 10,000 characters, without NUL characters.")


class KindInvalid(MessagingError):
    code = "kind_invalid"
    field_name = "kind"
    message = _("This kind of message is not one you may send.")


class ReplyByInvalid(MessagingError):
    code = "reply_by_invalid"
    field_name = "reply_by"
    message = _("The date for the answer must be a valid date and time in the future.")


class ReplyByRequired(MessagingError):
    code = "reply_by_required"
    field_name = "reply_by"
    message = _("A request for missing documents states the date by which they are awaited.")


class TooManyAttachments(MessagingError):
    code = "too_many_attachments"
    field_name = "attachments"
    message = _("Attach at most 10 files to one message.")


class NotACorrespondent(MessagingError):
    code = "not_a_correspondent"
    field_name = "company"
    message = _(
        "This company has neither responded to the consultation nor downloaded its files: "
        "it cannot be written to about it."
    )


class NobodyToWrite(MessagingError):
    code = "nobody_to_write"
    message = _("No company has responded to this consultation yet.")


class MessageLimitReached(MessagingError):
    code = "message_limit_reached"
    message = _("You have sent many messages in a short time: wait a while before the next one.")
