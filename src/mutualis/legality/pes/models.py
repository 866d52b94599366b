"""The rows of the accounting flows (PES V2): a member's flow from its import to the
treasury's acknowledgement, and what the gateway's outbox gave back. Imported by
``legality.models`` (the legality app's models)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mutualis.core.models.tenancy import OrganisationOwned

# The store's owner kinds: a flow's files (read by the member's accounting agents), and
# the gateway's raw returns (served to no one).
PES_OWNER_KIND = "legality.pes"
PES_INBOUND_OWNER_KIND = "legality.pes_inbound"
ACCOUNTANT_ROLE = "legality_accountant"
NOMFIC_MAX_LENGTH = 100


class FlowStatus(models.TextChoices):
    IMPORTED = "imported", _("Imported, waiting for its signature")
    SIGNED = "signed", _("Ready to be sent (signatures verified)")
    SENT = "sent", _("Sent to the treasury")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged by the treasury")
    REFUSED = "refused", _("Refused by the treasury")
    ERROR = "error", _("Could not be sent")
    CANCELLED = "cancelled", _("Withdrawn")


class PesFlow(OrganisationOwned):
    """A ``PES_Aller`` a member's accounting agent imported."""

    nomfic = models.CharField(_("file name (NomFic)"), max_length=NOMFIC_MAX_LENGTH)
    id_coll = models.CharField(_("collectivity SIRET (IdColl)"), max_length=14)
    cod_col = models.CharField(_("collectivity code"), max_length=3, blank=True, default="")
    cod_bud = models.CharField(_("budget code"), max_length=2, blank=True, default="")
    domains = models.JSONField(_("domains"), default=list)
    dematerialised = models.BooleanField(_("dematerialised (signed)"), default=False)
    bordereaux = models.PositiveIntegerField(_("bordereaux"), default=0)
    pieces = models.PositiveIntegerField(_("pieces"), default=0)
    # Each verified signature: bordereau (or "global"), signer, signing time, XAdES version.
    signatures = models.JSONField(default=list)
    status = models.CharField(
        _("status"), max_length=20, choices=FlowStatus.choices, default=FlowStatus.IMPORTED
    )
    file = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")
    # The name under which the flow is deposited on the gateway (fixed at signature: a
    # retry deposits the same bytes under the same name).
    remote_name = models.CharField(max_length=120, blank=True, default="")
    send_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error_reason = models.CharField(_("reason"), max_length=500, blank=True, default="")
    signed_at = models.DateTimeField(_("signed on"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent on"), null=True, blank=True)
    # The treasury's acknowledgement (PES_ACQUIT): its date, every element, its file.
    acknowledged_at = models.DateTimeField(_("acknowledged on"), null=True, blank=True)
    acknowledged_on = models.DateField(_("acknowledgement date"), null=True, blank=True)
    acknowledgement = models.JSONField(default=list)
    acquit = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(_("imported on"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "nomfic"], name="legality_pesflow_nomfic_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=FlowStatus.values), name="legality_pesflow_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["acknowledged", "refused"])
                | Q(acknowledged_at__isnull=False),
                name="legality_pesflow_acknowledged_with_date",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="legality_pes_due")]

    def __str__(self) -> str:
        return f"pes:{self.organisation_id}:{self.nomfic}"

    @property
    def anomalies(self) -> list[dict[str, str]]:
        return [e for e in self.acknowledgement if not e.get("ok")]


class AcquitRetourStatus(models.TextChoices):
    TO_SEND = "to_send", _("To be sent")
    SENT = "sent", _("Sent")
    ERROR = "error", _("Could not be sent")


class Restitution(models.TextChoices):
    # ``TypRestit`` of the Acquit_Retour, said of the return.
    REJECTS = "01", _("Rejected or suspended pieces")
    PERIODIC = "02", _("Periodic return")
    STOCK = "03", _("Stock")


class PesReturn(OrganisationOwned):
    """A ``PES_Retour`` the treasury dropped for a member: its raw file (the inbound
    row's), what it is, a summary for the agents, and the member's technical
    acknowledgement (``PES_ACQUIT_RETOUR``), deposited on the gateway by a job."""

    nomfic = models.CharField(_("file name (NomFic)"), max_length=NOMFIC_MAX_LENGTH)
    typfic = models.CharField(_("file type (TypFic)"), max_length=32, blank=True, default="")
    id_coll = models.CharField(_("collectivity SIRET (IdColl)"), max_length=14)
    cod_col = models.CharField(_("collectivity code"), max_length=3, blank=True, default="")
    cod_bud = models.CharField(_("budget code"), max_length=2, blank=True, default="")
    restitution = models.CharField(
        _("kind"), max_length=2, choices=Restitution.choices, default=Restitution.PERIODIC
    )
    domains = models.JSONField(_("domains"), default=list)
    produced_on = models.DateField(_("produced on"), null=True, blank=True)
    # Per domain: bordereaux, pieces, rejected, pending (clients for the client domain).
    summary = models.JSONField(default=list)
    # The rejected pieces (domain, bordereau, piece, observation), the first fifty.
    rejected = models.JSONField(default=list)
    file = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received on"))
    read_at = models.DateTimeField(_("read on"), null=True, blank=True)
    # The PES_ACQUIT_RETOUR: its file and gateway name are fixed at reception (a retry
    # deposits the same bytes under the same name), its sending in ``sending.py``.
    ack_status = models.CharField(
        _("acknowledgement status"),
        max_length=20,
        choices=AcquitRetourStatus.choices,
        default=AcquitRetourStatus.TO_SEND,
    )
    ack_file = models.ForeignKey(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    ack_remote_name = models.CharField(max_length=140, blank=True, default="")
    ack_attempts = models.PositiveSmallIntegerField(default=0)
    ack_next_attempt_at = models.DateTimeField(null=True, blank=True)
    ack_error = models.CharField(_("reason"), max_length=500, blank=True, default="")
    ack_sent_at = models.DateTimeField(_("acknowledgement sent on"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "nomfic"], name="legality_pesreturn_nomfic_unique"
            ),
            models.CheckConstraint(
                condition=Q(ack_status__in=AcquitRetourStatus.values),
                name="legality_pesreturn_ack_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(ack_status="sent") | Q(ack_sent_at__isnull=False),
                name="legality_pesreturn_sent_with_date",
            ),
        ]
        indexes = [
            models.Index(fields=["ack_status", "ack_next_attempt_at"], name="legality_pesret_due")
        ]

    def __str__(self) -> str:
        return f"pes-return:{self.organisation_id}:{self.nomfic}"


class PesInboundStatus(models.TextChoices):
    PROCESSED = "processed", _("Processed")
    QUARANTINED = "quarantined", _("Quarantined")


class PesInbound(models.Model):
    """A file collected from the gateway's outbox, processed or quarantined; its raw
    bytes in the private store, its SHA-256 unique (collected twice, processed once).
    Not a member's row: a quarantined file may name no member."""

    sha256 = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=255)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=PesInboundStatus.choices)
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    flow = models.ForeignKey(
        PesFlow, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    retour = models.ForeignKey(
        PesReturn, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True, default="")
    raw = models.ForeignKey("core.StoredFile", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PesInboundStatus.values),
                name="legality_pesinbound_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"pes-inbound:{self.sha256[:12]}"
