"""The rows of the secure messaging between a buyer and the bidders of a consultation.

A ``Thread`` is the exchange between the buyer and one company about one consultation:
held by both (docs/adr/0003-rows-two-parties-hold.md), one per consultation and company.
Its ``Message`` rows are written once by ``services`` and never edited nor deleted: they
belong to the procedure's file (the archive package reads them through
``selectors.messages_of_consultation``). The only later write is the read receipt, the
first reading by someone of the other side. Each message carries the SHA-256 of its
canonical form and the platform's RFC 3161 token over it (``evidence.timestamps``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mutualis.core.models import TwoPartyOwned

MAX_SUBJECT = 200
MAX_BODY = 10_000


class Side(models.TextChoices):
    BUYER = "buyer", pgettext_lazy("messaging side", "buyer")
    COMPANY = "company", pgettext_lazy("messaging side", "company")


class MessageKind(models.TextChoices):
    GENERAL = "general", _("message")
    MISSING_DOCUMENTS = "missing_documents", _("request for missing documents")
    CLARIFICATION = "clarification", _("request for clarification of an offer")
    NEGOTIATION = "negotiation", _("invitation to negotiate")


# What a company may send: the formal requests are the buyer's.
COMPANY_KINDS = frozenset({MessageKind.GENERAL})


class Thread(TwoPartyOwned):
    """The exchange between the buyer and one company about one consultation."""

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    opened_by = models.CharField(_("opened by"), max_length=8, choices=Side.choices)
    created_at = models.DateTimeField(_("opened on"))
    last_message_at = models.DateTimeField(_("last message on"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "company"], name="messaging_one_thread_per_company"
            ),
            models.CheckConstraint(
                condition=models.Q(opened_by__in=Side.values),
                name="messaging_thread_side_valid",
            ),
        ]
        indexes = [models.Index(fields=["company", "-last_message_at"])]

    def __str__(self) -> str:
        return f"{self.consultation_id}:{self.company_id}"


class Message(TwoPartyOwned):
    """One message, as sent: never edited, never deleted."""

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="messages")
    # The thread's company, repeated so that the company's manager can scope the rows.
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(_("side"), max_length=8, choices=Side.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        _("kind"), max_length=20, choices=MessageKind.choices, default=MessageKind.GENERAL
    )
    subject = models.CharField(_("subject"), max_length=MAX_SUBJECT)
    body = models.TextField(_("message"), max_length=MAX_BODY)
    # The answer awaited by then (a request for missing documents: R2144-2).
    reply_by = models.DateTimeField(_("answer awaited by"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent on"))
    # SHA-256 (hex) of the message's canonical JSON (``services.document_of``), and the
    # platform TSA's RFC 3161 token over it (DER).
    digest = models.CharField(max_length=64)
    timestamp_token = models.BinaryField(null=True, blank=True, editable=False)
    # The read receipt: the first reading by someone of the other side.
    read_at = models.DateTimeField(_("read on"), null=True, blank=True)
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(side__in=Side.values) & models.Q(kind__in=MessageKind.values),
                name="messaging_message_side_kind_valid",
            ),
            # A company sends general messages only; formal requests are the buyer's.
            models.CheckConstraint(
                condition=models.Q(side=Side.BUYER) | models.Q(kind=MessageKind.GENERAL),
                name="messaging_company_sends_general_messages",
            ),
            models.CheckConstraint(
                condition=models.Q(read_at__isnull=True, read_by__isnull=True)
                | models.Q(read_at__isnull=False, read_by__isnull=False),
                name="messaging_read_receipt_complete",
            ),
        ]
        indexes = [models.Index(fields=["thread", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.thread_id}:{self.pk}"


class Attachment(TwoPartyOwned):
    """A file sent with a message (private: served only through the thread's pages)."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    # One stored file for every copy of a message sent to several companies.
    file = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.message_id}:{self.file_id}"
