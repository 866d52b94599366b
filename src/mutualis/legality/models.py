"""The legality context's rows: a member's enrolment with its prefecture and the acts
it prepares for the legality control (@ctes)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mutualis.core.models.tenancy import OrganisationOwned

from .actes import NUMBER_MAX_LENGTH, SUBJECT_MAX_LENGTH

# The store's owner kind of an act's files and packages (``apps.ready``).
ACT_OWNER_KIND = "legality.act"
AGENT_ROLE = "legality_agent"
SENDER_ROLE = "legality_sender"
LEGALITY_ROLES = (AGENT_ROLE, SENDER_ROLE)
SERVICE = "legality"


class NatureChoice(models.IntegerChoices):
    DE = 1, _("Deliberation")
    AR = 2, _("Regulatory act")
    AI = 3, _("Individual act")
    CC = 4, _("Contract, agreement or amendment")
    BF = 5, _("Budget or financial document")
    AU = 6, _("Other")


class Enrolment(OrganisationOwned):
    """The member's agreement with its prefecture: what the envelope says of it."""

    convention_reference = models.CharField(_("agreement reference"), max_length=60)
    convention_date = models.DateField(_("agreement date"))
    departement = models.CharField(_("département"), max_length=3)
    arrondissement = models.CharField(_("arrondissement"), max_length=1)
    authority_nature = models.CharField(_("authority nature code"), max_length=2)
    natures = models.JSONField(_("natures transmitted"), default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation"], name="legality_enrolment_unique"),
        ]

    def __str__(self) -> str:
        return f"enrolment:{self.organisation_id}"


class ActStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared")
    WAITING = "waiting", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ERROR = "error", _("In error")
    CANCELLED = "cancelled", _("Cancelled")


class Act(OrganisationOwned):
    """An act a member prepares for the legality control."""

    nature = models.PositiveSmallIntegerField(_("nature"), choices=NatureChoice.choices)
    number = models.CharField(_("internal number"), max_length=NUMBER_MAX_LENGTH)
    decided_on = models.DateField(_("decision date"))
    classification = models.CharField(_("classification"), max_length=20)
    classification_date = models.DateField(_("classification version"))
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH)
    paper_follows = models.BooleanField(_("paper documents follow"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=ActStatus.choices, default=ActStatus.PREPARED
    )
    document = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", verbose_name=_("act")
    )
    document_signature = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    package = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    package_name = models.CharField(max_length=120, blank=True, default="")
    # The act's @ctes identifier ("IDActe", {dept}-{SIREN}-{yyyymmdd}-{number}-{nature}),
    # set when its package is built: the prefecture's answers name the act by it.
    identifier = models.CharField(_("act identifier"), max_length=60, blank=True, default="")
    sent_at = models.DateTimeField(_("sent on"), null=True, blank=True)
    # The acknowledgement (ARActe): the reception date it states is the legal proof.
    received_on = models.DateField(_("received in prefecture on"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledgement recorded on"), null=True, blank=True)
    # Recorded by the member's agent: a regulatory act enters into force when published.
    published_on = models.DateField(_("published on"), null=True, blank=True)
    # The transmission (transmission.py): attempts made, when the next one may be made
    # (also the lease of the attempt under way), and why the act is in error.
    send_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_reason = models.CharField(_("reason"), max_length=500, blank=True, default="")
    # The act's public verification page is at an address only its stamp and its agents
    # know: a random token, set when the act is first stamped (``publication.stamp_act``).
    verification_token = models.CharField(max_length=43, blank=True, default="")
    # The acknowledgement slip ("accusé de réception"), made with the first stamp.
    slip = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The signatures found on the act's files at validation (``signature_checks.py``):
    # one entry per file that carries one, with what each signature's check found.
    signature_report = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-decided_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"], name="legality_act_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ActStatus.values), name="legality_act_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(nature__gte=1, nature__lte=6), name="legality_act_nature_valid"
            ),
            # An acknowledged act has its proof.
            models.CheckConstraint(
                condition=~Q(status=ActStatus.ACKNOWLEDGED) | Q(received_on__isnull=False),
                name="legality_act_acknowledged_with_date",
            ),
        ]
        indexes = [
            models.Index(
                fields=["identifier"],
                name="legality_act_identifier",
                condition=~Q(identifier=""),
            )
        ]
        constraints += [
            models.UniqueConstraint(
                fields=["verification_token"],
                condition=~Q(verification_token=""),
                name="legality_act_verification_token_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"act:{self.organisation_id}:{self.number}"


class Annex(OrganisationOwned):
    """An annex of an act, with its piece type code."""

    act = models.ForeignKey(Act, on_delete=models.CASCADE, related_name="annexes")
    position = models.PositiveSmallIntegerField()
    piece_type = models.CharField(_("piece type"), max_length=10)
    file = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")
    signature = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["act", "position"], name="legality_annex_unique"),
        ]

    def __str__(self) -> str:
        return f"annex:{self.act_id}:{self.position}"


INBOUND_OWNER_KIND = "legality.inbound"


class TransmissionOutcome(models.TextChoices):
    SENT = "sent", _("Sent")
    DUPLICATE = "duplicate", _("Already received")
    RETRY = "retry", _("Failed, will be retried")
    FAILED = "failed", _("Failed")


class TransmissionAttempt(OrganisationOwned):
    """One POST of an act's package to the ministry: the transmission log the operator
    keeps (with the answer's status and what went wrong)."""

    act = models.ForeignKey(Act, on_delete=models.CASCADE, related_name="attempts")
    attempt = models.PositiveSmallIntegerField()
    url = models.CharField(max_length=300)
    package_name = models.CharField(max_length=120)
    outcome = models.CharField(max_length=20, choices=TransmissionOutcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True, default="")
    made_at = models.DateTimeField()

    class Meta:
        ordering = ["made_at", "pk"]
        indexes = [models.Index(fields=["made_at"], name="legality_attempt_made_at")]

    def __str__(self) -> str:
        return f"attempt:{self.act_id}:{self.attempt}"


class InboundStatus(models.TextChoices):
    PROCESSED = "processed", _("Processed")
    QUARANTINED = "quarantined", _("Quarantined")
    RELEASED = "released", _("Released by the operator")


class InboundMessage(models.Model):
    """A message read from the return mailbox, processed or quarantined: the raw e-mail
    is kept in the private file store, and its SHA-256 makes reading it twice harmless.
    Not a member's row: a quarantined message may not name any member."""

    sha256 = models.CharField(max_length=64, unique=True)
    message_id = models.CharField(max_length=300, blank=True, default="")
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=InboundStatus.choices)
    kind = models.CharField(max_length=40, blank=True, default="")
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    act = models.ForeignKey(Act, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    identifier = models.CharField(max_length=60, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    raw = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=InboundStatus.values), name="legality_inbound_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"inbound:{self.sha256[:12]}"


class Stamp(OrganisationOwned):
    """A stamped copy of an act's main PDF: the original bytes followed by one
    incremental update carrying the stamp ("Envoyé en préfecture le …, Reçu en
    préfecture le …, Publié le …, ID : …") and its QR code. A new one is made when the
    publication date is recorded; the earlier ones are kept (a copy handed out before
    stays verifiable), the latest is the act's current stamped PDF."""

    act = models.ForeignKey(Act, on_delete=models.CASCADE, related_name="stamps")
    file = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")
    # The publication date the stamp shows (none before it is recorded).
    published_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"stamp:{self.act_id}:{self.pk}"


# --- The prefecture's correspondence, the cancellation, the classification --------------


class LetterKind(models.TextChoices):
    """The prefecture's messages about an act (the @ctes root elements)."""

    SIMPLE = "CourrierSimple", _("Letter")
    DOCUMENTS = "DemandePieceComplementaire", _("Request for additional documents")
    OBSERVATIONS = "LettreObservations", _("Letter of observations")
    REFERRAL = "DefereTA", _("Referral to the administrative court")


class LetterStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")
    REFUSED = "refused", _("Refused")
    NOTICE = "notice", _("For information")


class Letter(OrganisationOwned):
    """A message of the prefecture about a transmitted act, with the member's answer."""

    act = models.ForeignKey(Act, on_delete=models.CASCADE, related_name="letters")
    kind = models.CharField(_("kind"), max_length=40, choices=LetterKind.choices)
    # ``DateCourrierPref`` (``DateDepot`` for a referral): it names the letter in answers.
    letter_date = models.DateField(_("letter date"))
    # The request's description, the observations' grounds, the referral's illegality.
    text = models.TextField(_("text"), blank=True, default="")
    document = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    received_at = models.DateTimeField(_("received on"))
    status = models.CharField(_("status"), max_length=20, choices=LetterStatus.choices)
    # When the member's answer is due (none: no answer expected); the agent may set the
    # time the letter itself gives.
    due_on = models.DateField(_("answer due by"), null=True, blank=True)
    answer_kind = models.CharField(max_length=40, blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)
    # The prefecture's acknowledgement of the answer (``ARPieceComplementaire``,
    # ``ARReponseRejetLettreObservations``): the date it states.
    answer_received_on = models.DateField(null=True, blank=True)
    message_sha256 = models.CharField(max_length=64, blank=True, default="")
    # The reminders sent to the member's agents: "" none, "soon" before the due date,
    # "due" once it is reached (``correspondence.remind``).
    reminder = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        ordering = ["letter_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["act", "kind", "letter_date"], name="legality_letter_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=LetterStatus.values), name="legality_letter_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"letter:{self.act_id}:{self.kind}:{self.letter_date}"


class OutboundStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    ERROR = "error", _("In error")


class OutboundMessage(OrganisationOwned):
    """A message of the member other than the act itself (an answer to a letter, an
    acknowledgement of one, a cancellation, a classification request), packed like an
    act and sent by the same transmission job."""

    kind = models.CharField(_("message"), max_length=40)
    act = models.ForeignKey(
        Act, on_delete=models.CASCADE, related_name="outbound", null=True, blank=True
    )
    letter = models.ForeignKey(
        Letter, on_delete=models.CASCADE, related_name="outbound", null=True, blank=True
    )
    package = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")
    package_name = models.CharField(max_length=120)
    status = models.CharField(
        max_length=20, choices=OutboundStatus.choices, default=OutboundStatus.WAITING
    )
    send_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error_reason = models.CharField(max_length=500, blank=True, default="")
    # The prefecture's acknowledgement of it (``ARAnnulation``, ``ARPieceComplementaire``…).
    acknowledged_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["package_name"], name="legality_outbound_name_unique"),
            models.CheckConstraint(
                condition=Q(status__in=OutboundStatus.values),
                name="legality_outbound_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"outbound:{self.kind}:{self.pk}"


class OutboundFile(OrganisationOwned):
    """A file an outbound message carries (the documents of an answer)."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveSmallIntegerField()
    file = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"], name="legality_outbound_file_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"outbound-file:{self.message_id}:{self.position}"


class ClassificationVersion(OrganisationOwned):
    """A version of the prefecture's classification received by the member
    (``RetourClassification``): its matières (dotted codes → labels) and, per nature,
    its piece types (code → label)."""

    version_date = models.DateField(_("classification version"))
    matieres = models.JSONField(default=dict)
    piece_types = models.JSONField(default=dict)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-version_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "version_date"], name="legality_classification_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"classification:{self.organisation_id}:{self.version_date}"


class ClassificationState(OrganisationOwned):
    """What the prefecture last announced of the member's classification: the version
    date an acknowledgement (``ClassificationDateVersionEnCours``) or an answer to a
    request named, and when the member last asked."""

    announced_on = models.DateField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], name="legality_classification_state_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"classification-state:{self.organisation_id}"


class WebhookEndpoint(OrganisationOwned):
    """An address of the member's software told of every status change of its acts
    (``webhooks.py``). Its secret signs each delivery; it is shown once, at registration,
    and stored sealed (``core.sealing``). Switched off rather than deleted, so that its
    delivery log stays."""

    url = models.CharField(_("address"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    # Event types it receives ("act.acknowledged", …); empty: every one.
    events = models.JSONField(_("events"), default=list)
    secret_sealed = models.TextField()
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"webhook:{self.organisation_id}:{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(OrganisationOwned):
    """One event for one endpoint, written in the transaction of the change it tells
    (an outbox: a change rolled back tells nothing), then posted by a background job,
    retried with back-off. ``log`` keeps every attempt (time, answer, error)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(unique=True)
    event = models.CharField(max_length=40)
    # What the event is about: an act, a PES flow or a PES return (exactly one).
    act = models.ForeignKey(Act, on_delete=models.CASCADE, related_name="+", null=True)
    pes_flow = models.ForeignKey(
        "legality.PesFlow", on_delete=models.CASCADE, related_name="+", null=True
    )
    pes_return = models.ForeignKey(
        "legality.PesReturn", on_delete=models.CASCADE, related_name="+", null=True
    )
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt may be made (also the lease of the attempt under way).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    log = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="legality_webhook_due",
                condition=Q(status="pending"),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values),
                name="legality_webhook_delivery_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(act__isnull=False, pes_flow__isnull=True, pes_return__isnull=True)
                    | Q(act__isnull=True, pes_flow__isnull=False, pes_return__isnull=True)
                    | Q(act__isnull=True, pes_flow__isnull=True, pes_return__isnull=False)
                ),
                name="legality_webhook_delivery_one_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery:{self.event_id}"


# The accounting flows (PES V2): their rows live in the ``pes`` sub-package.
from .pes.models import PesFlow, PesInbound  # noqa: E402, F401
