"""The rows of sealed deposits.

Nothing here can read a response before the opening: the server holds ciphertext (age,
X25519 recipients) and the public half of each consultation's opening key; the private
half exists only as shares sealed to the holders' personal keys, themselves sealed by
passphrases the server never sees. See docs/adr/0008-sealed-deposits.md.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mutualis.companies.models import CompanyOwned
from mutualis.core.models import OrganisationOwned, TwoPartyOwned

# age's X25519 recipient (``age1`` + 58 Bech32 characters) and an armored age file.
RECIPIENT_LENGTH = 62


class HolderKey(OrganisationOwned):
    """An opening-key holder's personal key pair, enrolled once in the browser.

    ``recipient`` is the public key (``age1…``); ``sealed_identity`` is the private key
    (``AGE-SECRET-KEY-1…``) encrypted in the browser with age's scrypt passphrase
    recipient, ASCII-armored. A holder who leaves is retired, never deleted (their sealed
    shares of past consultations stay attributable).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recipient = models.CharField(_("public key"), max_length=RECIPIENT_LENGTH)
    sealed_identity = models.TextField(_("sealed private key"))
    created_at = models.DateTimeField(_("enrolled on"), auto_now_add=True)
    retired_at = models.DateTimeField(_("retired on"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"],
                condition=models.Q(retired_at__isnull=True),
                name="deposits_one_active_holder_key",
            )
        ]

    def __str__(self) -> str:
        return self.recipient


class OpeningKey(OrganisationOwned):
    """A consultation's opening key: its public half, and how its private half was split.

    ``threshold`` shares of the ``share_count`` sealed ones (or the paper escrow share,
    x coordinate ``escrow_index``) rebuild it; the rebuilt key must give ``recipient``
    back before anything is decrypted.
    """

    consultation = models.OneToOneField(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="opening_key"
    )
    recipient = models.CharField(_("public key"), max_length=RECIPIENT_LENGTH)
    threshold = models.PositiveSmallIntegerField(_("members needed to open"))
    share_count = models.PositiveSmallIntegerField(_("key holders"))
    escrow_index = models.PositiveSmallIntegerField(_("paper share"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # None: made by the platform for the test consultation (availability.py), its private
    # half dropped at once.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    escrow_printed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.recipient


class SealedShare(OrganisationOwned):
    """One holder's share of an opening key, age-encrypted to their ``HolderKey``."""

    opening_key = models.ForeignKey(OpeningKey, on_delete=models.CASCADE, related_name="shares")
    holder = models.ForeignKey(HolderKey, on_delete=models.PROTECT, related_name="shares")
    sealed_share = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["opening_key", "holder"], name="deposits_one_share_per_holder"
            )
        ]


class Phase(models.TextChoices):
    APPLICATION = "application", _("application")
    OFFER = "offer", _("offer")


class DepositState(models.TextChoices):
    # Files still arriving: seen by nobody but the company, not deposited.
    RECEIVING = "receiving", _("being received")
    ACKNOWLEDGED = "acknowledged", _("deposited")
    SUPERSEDED = "superseded", _("replaced by a later deposit")
    WITHDRAWN = "withdrawn", _("withdrawn")
    ABANDONED = "abandoned", _("abandoned before completion")


class Deposit(TwoPartyOwned):
    """A company's response to a consultation (or to one of its lots), held by the buyer
    and the company (docs/adr/0003-rows-two-parties-hold.md).

    ``received_at`` is the server's clock when the last file was fsynced and the
    acknowledgement made durable; ``late`` compares it with the response deadline then in
    force. ``receipt`` is the acknowledgement document (canonical JSON), ``receipt_digest``
    its SHA-256 (the leaf of the public deposit log), ``timestamp_token`` the RFC 3161
    token over that digest.
    """

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        "procurement.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    # The representative who deposited; None when an API client of the company did
    # (``api_client_id`` names it then).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    api_client_id = models.CharField(max_length=100, blank=True, default="")
    phase = models.CharField(_("phase"), max_length=12, choices=Phase.choices, default=Phase.OFFER)
    state = models.CharField(
        _("state"), max_length=12, choices=DepositState.choices, default=DepositState.RECEIVING
    )
    idempotency_key = models.CharField(max_length=100)
    started_at = models.DateTimeField(_("started on"), auto_now_add=True)
    received_at = models.DateTimeField(_("received on"), null=True, blank=True)
    late = models.BooleanField(_("late"), default=False)
    withdrawn_at = models.DateTimeField(_("withdrawn on"), null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    receipt = models.JSONField(default=dict, blank=True)
    receipt_digest = models.CharField(max_length=64, blank=True, default="")
    timestamp_token = models.BinaryField(null=True, blank=True)
    receipt_pdf = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    backup_copy_announced = models.BooleanField(_("backup copy announced"), default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "idempotency_key"], name="deposits_deposit_idempotency"
            )
        ]
        indexes = [models.Index(fields=["consultation", "state"])]

    def __str__(self) -> str:
        return self.reference


class FileKind(models.TextChoices):
    APPLICATION = "application", _("application document")
    ESPD = "espd", _("European single procurement document")
    OFFER = "offer", _("offer document")


class DepositFile(TwoPartyOwned):
    """One encrypted file of a deposit.

    The browser declares the plaintext's name, type, size and SHA-256 and the ciphertext's
    size; the server appends raw chunks at their offsets to ``storage_name`` (under
    ``MUTUALIS_DEPOSIT_DIR``, ``.part`` until complete), fsyncs, checks the size and the age
    header, and records the ciphertext's SHA-256 it computed itself.
    """

    deposit = models.ForeignKey(Deposit, on_delete=models.CASCADE, related_name="files")
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=FileKind.choices, default=FileKind.OFFER)
    idempotency_key = models.CharField(max_length=100)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(max_length=100, blank=True, default="")
    plaintext_size = models.PositiveBigIntegerField()
    plaintext_sha256 = models.CharField(max_length=64)
    ciphertext_size = models.PositiveBigIntegerField()
    received_size = models.PositiveBigIntegerField(default=0)
    ciphertext_sha256 = models.CharField(max_length=64, blank=True, default="")
    storage_name = models.CharField(max_length=200)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Its ciphertext deleted past the retention period (purge.py); the row and its
    # hashes stay.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deposit", "idempotency_key"], name="deposits_file_idempotency"
            )
        ]
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class LogSection(models.TextChoices):
    ON_TIME = "on_time", _("on time")
    LATE = "late", _("late")


class DepositLogEntry(models.Model):
    """The public deposit log: one row per acknowledged deposit, never updated nor deleted
    (a trigger refuses it). ``entry_hash`` is the SHA-256 of the canonical JSON (the audit
    trail's ``canonical_json``) of the other fields. No per-consultation sequence: the
    tree's order is (``received_at``, ``id``), fixed when the section closes.
    """

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    deposit_reference = models.CharField(max_length=32, unique=True)
    section = models.CharField(max_length=8, choices=LogSection.choices)
    receipt_digest = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    entry_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["consultation", "section", "received_at", "id"])]

    def __str__(self) -> str:
        return self.deposit_reference


class DepositLogRoot(models.Model):
    """A closed section of a consultation's log: the Merkle root of its receipts in
    reception order, the count, and the RFC 3161 token over the root. The on-time
    section closes at the deadline, the late one at the opening."""

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    section = models.CharField(max_length=8, choices=LogSection.choices)
    size = models.PositiveIntegerField()
    root = models.CharField(max_length=64)
    timestamp_token = models.BinaryField()
    closed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "section"], name="deposits_one_root_per_section"
            )
        ]

    def __str__(self) -> str:
        return self.root


class OpeningSession(OrganisationOwned):
    """The opening of a consultation's responses: who unlocked, when it completed, the
    register and the minutes it produced, and what it found (``report``: per file,
    intact, altered or unreadable, and the signature reports)."""

    consultation = models.OneToOneField(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="opening_session"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    unlocked_by = models.JSONField(default=list, blank=True)  # HolderKey ids
    completed_at = models.DateTimeField(null=True, blank=True)
    register_pdf = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    minutes_pdf = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    report = models.JSONField(default=dict, blank=True)
    # The holders' shares while the session waits for enough of them: {holder id: {"at":
    # ISO time, "share": the share sealed by core.sealing ("deposits.opening")}}; each
    # forgotten after an hour, all emptied once combined (opening.py).
    pending_shares = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return str(self.consultation_id)


class OpenedFileState(models.TextChoices):
    INTACT = "intact", _("intact")
    ALTERED = "altered", _("altered after deposit")
    UNREADABLE = "unreadable", _("unreadable")


class OpenedFile(OrganisationOwned):
    """A deposited file once decrypted at the opening: its plaintext in the private store
    (read by the consultation's buyers and commission members only, every read audited),
    or why it could not be."""

    deposit_file = models.OneToOneField(DepositFile, on_delete=models.PROTECT, related_name="+")
    session = models.ForeignKey(OpeningSession, on_delete=models.CASCADE, related_name="files")
    state = models.CharField(max_length=12, choices=OpenedFileState.choices)
    detail = models.TextField(blank=True, default="")
    stored_file = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signatures = models.JSONField(default=list, blank=True)
    # Its plaintext deleted past the retention period (purge.py).
    purged_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.state


class AvailabilityProbe(models.Model):
    """A synthetic deposit on the test consultation, kept as public evidence that the
    deposit path worked (or did not) around deadlines, with the clock's offset from its
    time source."""

    probed_at = models.DateTimeField(db_index=True)
    ok = models.BooleanField()
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    clock_offset_ms = models.FloatField(null=True, blank=True)
    clock_source = models.CharField(max_length=100, blank=True, default="")
    detail = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return self.probed_at.isoformat()


# --- The key ceremony's per-organisation defaults (keys.py) ----------------------------


class OpeningKeyDefaults(OrganisationOwned):
    """What a buyer's organisation proposes for a new opening key: ``threshold`` holders
    out of ``share_count`` (2 of 3 when nothing is stored; a small commune may choose 1,
    each holder able to open alone). Each consultation's key records its own k and n."""

    threshold = models.PositiveSmallIntegerField(_("members needed to open"))
    share_count = models.PositiveSmallIntegerField(_("key holders"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], name="deposits_one_key_defaults_per_organisation"
            ),
            models.CheckConstraint(
                condition=models.Q(threshold__gte=1, share_count__gte=models.F("threshold")),
                name="deposits_key_defaults_threshold_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.threshold}/{self.share_count}"


# --- Admission to the offer phase of a two-phase procedure (admissions.py) ---------------


class AdmissionDecision(models.TextChoices):
    ADMITTED = "admitted", _("admitted to submit an offer")
    REJECTED = "rejected", _("not admitted")
    # R2144-2: the buyer asks the candidate to complete its application (the request is
    # a message of the secure messaging, with the date the documents are awaited by).
    INCOMPLETE = "incomplete", _("incomplete: missing documents requested")


class AdmissionState(models.TextChoices):
    DECIDED = "decided", _("decided, not yet notified")
    AWAITING_DOCUMENTS = "awaiting", _("missing documents requested")
    NOTIFIED = "notified", _("notified")


class Admission(TwoPartyOwned):
    """The buyer's decision on one candidate of a two-phase procedure, after its
    applications were opened: admitted to submit an offer, or not, with the reasons; or
    incomplete, the missing documents requested by a message with a date (``awaiting``
    until the buyer admits or refuses the candidate, who answers in the thread).
    Changed freely while ``decided``; fixed once ``notified`` (all the candidates at
    once, with the offer phase's opening: ``admissions.notify``). Its state changes only
    through ``admission_transitions``, each change one audit event."""

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    # The application decided on (the company's acknowledged, on-time one).
    application = models.ForeignKey(Deposit, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(_("decision"), max_length=10, choices=AdmissionDecision.choices)
    reasons = models.TextField(_("reasons"), blank=True, default="")
    state = models.CharField(
        _("state"), max_length=10, choices=AdmissionState.choices, default=AdmissionState.DECIDED
    )
    decided_at = models.DateTimeField(_("decided on"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    notified_at = models.DateTimeField(_("notified on"), null=True, blank=True)
    # The last request for missing documents (kept once the candidate is decided on): the
    # message sent, and the date the documents are awaited by.
    documents_request = models.ForeignKey(
        "messaging.Message",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    documents_deadline = models.DateTimeField(
        _("missing documents awaited by"), null=True, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "company"], name="admission_one_per_company"
            ),
            # Awaiting documents is the incomplete decision, with its request and date.
            models.CheckConstraint(
                condition=models.Q(
                    state=AdmissionState.AWAITING_DOCUMENTS,
                    decision=AdmissionDecision.INCOMPLETE,
                    documents_request__isnull=False,
                    documents_deadline__isnull=False,
                )
                | (
                    ~models.Q(state=AdmissionState.AWAITING_DOCUMENTS)
                    & ~models.Q(decision=AdmissionDecision.INCOMPLETE)
                ),
                name="admission_incomplete_awaits_documents",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=AdmissionState.values)
                & models.Q(decision__in=AdmissionDecision.values),
                name="admission_state_and_decision_valid",
            ),
            # A candidate not admitted is told why.
            models.CheckConstraint(
                condition=~models.Q(decision=AdmissionDecision.REJECTED) | ~models.Q(reasons=""),
                name="admission_rejected_with_reasons",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consultation_id}:{self.company_id}:{self.decision}"


# --- The backup copy ("copie de sauvegarde", R2132-11; backup_copies.py) -----------------


class BackupState(models.TextChoices):
    ANNOUNCED = "announced", _("announced")
    RECEIVED = "received", _("received, kept sealed")
    OPENED = "opened", _("opened")
    DESTROYED = "destroyed", _("destroyed unopened")


class BackupMedium(models.TextChoices):
    PAPER = "paper", _("on paper")
    MEDIUM = "medium", _("on a physical medium")
    ELECTRONIC = "electronic", _("electronically")


class BackupOpenReason(models.TextChoices):
    """The only reasons the code allows to open a backup copy (art. 2 of the arrêté of
    22 March 2019): never a missing or invalid signature."""

    VIRUS = "virus", _("a malicious program was found in the electronic response")
    NOT_RECEIVED = "not_received", _("the electronic response was not received in time")
    UNREADABLE = "unreadable", _("the electronic response could not be opened")


class BackupCopy(TwoPartyOwned):
    """A company's backup copy of its response to a consultation: announced with the
    deposit (or simply received), received on paper, on a medium or electronically, kept
    sealed; opened only for a listed reason, recorded with who and why; destroyed
    unopened otherwise. One per company and consultation; its state changes only through
    ``backup_transitions`` and each change is one audit event."""

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    deposit = models.ForeignKey(
        Deposit, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    state = models.CharField(
        _("state"), max_length=10, choices=BackupState.choices, default=BackupState.ANNOUNCED
    )
    announced_at = models.DateTimeField(_("announced on"), null=True, blank=True)
    medium = models.CharField(_("medium"), max_length=10, choices=BackupMedium.choices, blank=True)
    received_at = models.DateTimeField(_("received on"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    opened_at = models.DateTimeField(_("opened on"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    open_reason = models.CharField(
        _("reason for opening"), max_length=12, choices=BackupOpenReason.choices, blank=True
    )
    open_note = models.TextField(_("what was found"), blank=True, default="")
    destroyed_at = models.DateTimeField(_("destroyed on"), null=True, blank=True)
    destroyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=BackupState.values), name="backup_copy_state_valid"
            ),
            models.UniqueConstraint(
                fields=["consultation", "company"], name="backup_copy_one_per_company"
            ),
            # Opened: for a listed reason, always said.
            models.CheckConstraint(
                condition=~models.Q(state=BackupState.OPENED)
                | (models.Q(open_reason__in=BackupOpenReason.values) & ~models.Q(open_note="")),
                name="backup_copy_opened_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consultation_id}/{self.company_id}: {self.state}"


# --- The company's ESPD responses (espd_response*.py) ----------------------------------


class EspdResponse(CompanyOwned):
    """A company's answers to a consultation's ESPD request (the DUME), for one lot (none
    when the consultation has no lots): its own copy, kept in its space like its vault and
    read by its representatives only. What the buyer receives is the XML made from it and
    encrypted into a deposit like any file; this row is never the buyer's.

    ``answers`` maps each question's property ID to its answer (``espd_response``);
    ``operator`` is the operator's identity as the document states it; ``document_uuid``
    is the document's UUID, drawn again at each change (a copy keeps it).
    """

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        "procurement.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    operator = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    document_uuid = models.UUIDField(default=uuid.uuid4)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("ESPD response")
        verbose_name_plural = _("ESPD responses")
        constraints = [
            models.UniqueConstraint(
                fields=["company", "consultation", "lot"],
                name="espd_response_one_per_lot",
            ),
            # NULL is distinct from NULL in a unique constraint: a consultation without
            # lots gets its own.
            models.UniqueConstraint(
                fields=["company", "consultation"],
                condition=models.Q(lot__isnull=True),
                name="espd_response_one_without_lot",
            ),
        ]

    def __str__(self) -> str:
        return f"ESPD response of company:{self.company_id} to {self.consultation_id}"
