from django.db import models
from django.utils.translation import gettext_lazy as _


class OutgoingEmail(models.Model):
    """An e-mail written by the platform, sent by a background job, retried with back-off.

    Everything the job needs to build the message is on the row and its attachments, so
    that it can be sent long after the request that wrote it, by another process.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, default="")
    # Further alternative parts of the text ([{"mimetype": ..., "content": ...}]), such as
    # an iCalendar invitation ("text/calendar; method=REQUEST"); checked by queue_email.
    alternatives = models.JSONField(default=list, blank=True)
    # Extra header lines ({"List-Unsubscribe": ...}); checked by queue_email (no CR or LF).
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Written when queued and sent with every attempt: delivery is at least once (a
    # worker may die after the server accepted the message), and a recipient's mail
    # software recognises a second copy by its Message-ID.
    message_id = models.CharField(max_length=255, blank=True, default="")
    # A worker claims the row until ``claimed_until`` (MUTUALIS_EMAIL_CLAIM_SECONDS), then
    # sends outside any transaction; a claim that outlives its worker expires by itself.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, default="")
    # Single-use links (password reset, invitations, address confirmation) are never
    # stored in the text: the text holds markers, and the links, encrypted with a key
    # derived from SECRET_KEY (which no database backup holds), wait here until the
    # e-mail is sent or has failed for good; then they are wiped.
    carries_secrets = models.BooleanField(default=False)
    sealed_secrets = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "sent", "failed"]),
                name="outgoing_email_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"

    @property
    def links_removed(self) -> bool:
        """Its single-use links are wiped (sent, or failed for good): the stored copy can
        no longer be sent."""
        return self.carries_secrets and not self.sealed_secrets


class EmailAttachment(models.Model):
    """A file sent with an outgoing e-mail (a PDF receipt, an .ics file).

    The bytes live in the database, beside the e-mail: written in the same transaction as
    the row, so an e-mail is never queued without its attachment nor an attachment left
    without its e-mail, and the worker needs no file store. ``queue_email`` bounds their
    total size (MUTUALIS_EMAIL_MAX_ATTACHMENT_BYTES): they are receipts and invitations,
    not documents, which are shared by link.
    """

    email = models.ForeignKey(OutgoingEmail, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField(default=0)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    content = models.BinaryField()
    size = models.PositiveIntegerField(_("size"))

    class Meta:
        verbose_name = _("e-mail attachment")
        verbose_name_plural = _("e-mail attachments")
        ordering = ["email", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["email", "position"], name="email_attachment_position_unique"
            )
        ]

    def __str__(self) -> str:
        return self.filename
