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


# The accounting flows (PES V2): their rows live in the ``pes`` sub-package.
from .pes.models import PesFlow, PesInbound  # noqa: E402, F401
