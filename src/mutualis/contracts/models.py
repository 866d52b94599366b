"""The rows of the award and the contract (E-procurement III).

An ``Award`` is the buyer's decision on one lot (or the whole consultation): awarded to
one company's on-time offer with its amount, or declared unsuccessful or discontinued
with the reason. Its ``AwardLetter`` rows are the letters each bidder receives (held by
the buyer and that company). A ``Contract`` is what the award leads to once signed: held
by the buyer and the holder company (docs/adr/0003-rows-two-parties-hold.md), with the
fields the DECP needs that the procedure's own records do not already hold; its
``Amendment`` rows are appended, never rewriting the original amount or duration.
States change only through ``award_transitions`` and ``contract_transitions``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mutualis.core.models import OrganisationOwned, TwoPartyOwned

AMOUNT_DIGITS = 14  # up to 999 999 999 999,99 € excl. VAT
MAX_REASONS = 4000
MAX_OBJECT = 1000  # DECP ``objet``


class AwardOutcome(models.TextChoices):
    AWARDED = "awarded", _("awarded")
    # procurement.models.CancellationKind's values: the same words for a lot.
    UNSUCCESSFUL = "unsuccessful", _("unsuccessful")
    DISCONTINUED = "discontinued", _("discontinued")


class AwardState(models.TextChoices):
    DRAFT = "draft", _("decided, not yet notified")
    NOTIFIED = "notified", pgettext_lazy("award state", "notified")
    STANDSTILL_OVER = "standstill_over", _("standstill period over")
    CONTRACTED = "contracted", _("contract signed")
    ABANDONED = "abandoned", _("abandoned")


class Award(OrganisationOwned):
    """The buyer's decision on a lot (``lot`` None: the whole consultation)."""

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        "procurement.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=AwardOutcome.choices)
    # The winner and its offer (an acknowledged, on-time offer opened by the commission).
    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    offer = models.ForeignKey(
        "deposits.Deposit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    amount = models.DecimalField(
        _("amount excl. VAT"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    # Rejection reasons (awarded) or the reason of an unsuccessful or discontinued lot.
    reasons = models.TextField(_("reasons"), max_length=MAX_REASONS)
    state = models.CharField(
        _("state"), max_length=16, choices=AwardState.choices, default=AwardState.DRAFT
    )
    decided_at = models.DateTimeField(_("decided on"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # When the letters were sent (the standstill's start), and the standstill's last day
    # (None: no standstill; standstill.py).
    notified_at = models.DateTimeField(_("letters sent on"), null=True, blank=True)
    standstill_ends_on = models.DateField(_("end of the standstill period"), null=True, blank=True)
    # Bidders of the lot when notified (DECP ``offresRecues``, late ones excluded).
    bidders = models.PositiveIntegerField(_("offers received"), default=0)
    abandoned_reason = models.TextField(_("reason for abandoning"), blank=True, default="")
    # The change feed of the public API (``api.py``): every save moves it.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=AwardState.values)
                & models.Q(outcome__in=AwardOutcome.values),
                name="contracts_award_state_outcome_valid",
            ),
            # An award names its winner, offer and amount; the other outcomes none.
            models.CheckConstraint(
                condition=(
                    models.Q(
                        outcome=AwardOutcome.AWARDED,
                        company__isnull=False,
                        offer__isnull=False,
                        amount__isnull=False,
                        amount__gte=0,
                    )
                    | (
                        ~models.Q(outcome=AwardOutcome.AWARDED)
                        & models.Q(company__isnull=True, offer__isnull=True, amount__isnull=True)
                    )
                ),
                name="contracts_award_winner_iff_awarded",
            ),
            # One living decision per lot, and per consultation without lots.
            models.UniqueConstraint(
                fields=["consultation", "lot"],
                condition=~models.Q(state=AwardState.ABANDONED) & models.Q(lot__isnull=False),
                name="contracts_one_award_per_lot",
            ),
            models.UniqueConstraint(
                fields=["consultation"],
                condition=~models.Q(state=AwardState.ABANDONED) & models.Q(lot__isnull=True),
                name="contracts_one_award_per_consultation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consultation_id}/{self.lot_id or '-'}: {self.outcome}"


class LetterKind(models.TextChoices):
    AWARD = "award", _("award letter")
    REJECTION = "rejection", _("rejection letter")
    UNSUCCESSFUL = "unsuccessful", _("unsuccessful procedure")
    DISCONTINUED = "discontinued", _("discontinued procedure")


class AwardLetter(TwoPartyOwned):
    """One letter of an award to one bidder, as sent (its PDF is the letter itself)."""

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="letters")
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=LetterKind.choices)
    pdf = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent on"))
    # First opened by a representative of the company on its page.
    read_at = models.DateTimeField(_("read on"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["award", "company"], name="contracts_one_letter"),
            models.CheckConstraint(
                condition=models.Q(kind__in=LetterKind.values), name="contracts_letter_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.award_id}:{self.company_id}:{self.kind}"


class ContractState(models.TextChoices):
    SIGNED = "signed", _("signed")
    SENT = "sent", _("notification sent, receipt awaited")
    NOTIFIED = "notified", pgettext_lazy("contract state", "notified")
    IN_EXECUTION = "in_execution", _("in execution")
    COMPLETED = "completed", _("completed")
    TERMINATED = "terminated", _("terminated")


class GroupingType(models.TextChoices):
    """DECP ``typeGroupementOperateurs``."""

    NONE = "none", _("No grouping")
    JOINT = "joint", _("Joint grouping (conjoint)")
    JOINT_AND_SEVERAL = "joint_and_several", _("Joint and several grouping (solidaire)")


DECP_GROUPING = {
    GroupingType.NONE: "Pas de groupement",
    GroupingType.JOINT: "Conjoint",
    GroupingType.JOINT_AND_SEVERAL: "Solidaire",
}


class Contract(TwoPartyOwned):
    """The contract of an award, held by the buyer and the holder company.

    What the DECP needs and the procedure already records (object, CPV, procedure,
    nature, CCAG, techniques, price types and forms, considerations, the buyer's SIRET)
    is read from the consultation and the award, never copied here; what only the
    contract knows is here: the holder's establishment, co-contractors and
    subcontractors by SIRET, amount and duration as signed, the dates. ``reference`` is
    the DECP ``id`` (1 to 16 characters, unique for the buyer).
    """

    award = models.OneToOneField(Award, on_delete=models.PROTECT, related_name="contract")
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("contract number"), max_length=16)
    holder_siret = models.CharField(_("holder's SIRET"), max_length=14)
    grouping = models.CharField(
        _("grouping of operators"),
        max_length=20,
        choices=GroupingType.choices,
        default=GroupingType.NONE,
    )
    # [{"siret": "…"}]: the other members of the holders' grouping.
    co_contractors = models.JSONField(_("co-contractors"), default=list, blank=True)
    # [{"siret": "…"}]: subcontractors declared at the notification.
    subcontractors = models.JSONField(_("subcontractors"), default=list, blank=True)
    amount = models.DecimalField(
        _("amount excl. VAT"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    duration_months = models.PositiveSmallIntegerField(
        _("duration in months"), validators=[MinValueValidator(1)]
    )
    signed_on = models.DateField(_("signed on"))
    state = models.CharField(
        _("state"), max_length=14, choices=ContractState.choices, default=ContractState.SIGNED
    )
    # The notification through the platform: sent by the buyer, then the receipt the
    # holder confirms on its page — that date is the proof of receipt and the DECP's
    # ``dateNotification`` (its two-month clock starts there).
    notification_sent_at = models.DateTimeField(_("notification sent on"), null=True, blank=True)
    receipt_confirmed_at = models.DateTimeField(_("receipt confirmed on"), null=True, blank=True)
    receipt_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_on = models.DateField(_("execution started on"), null=True, blank=True)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    termination_reason = models.TextField(_("reason for termination"), blank=True, default="")
    # A framework agreement's maximum excl. VAT (R2162-4): its orders may not exceed it.
    framework_maximum = models.DecimalField(
        _("framework agreement's maximum excl. VAT"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The change feed of the public API (``api.py``): every save moves it.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    # None: written by the member's API client (actors.py; the audit event names it).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ContractState.values)
                & models.Q(grouping__in=GroupingType.values)
                & models.Q(amount__gte=0)
                & models.Q(duration_months__gte=1),
                name="contracts_contract_valid",
            ),
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="contracts_reference_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def notified_on(self):  # type: ignore[no-untyped-def]
        """The DECP ``dateNotification``: the holder's proof of receipt."""
        return self.receipt_confirmed_at


class Amendment(TwoPartyOwned):
    """A modification of a contract (avenant), appended: number ``n`` in order of
    notification, its object and date, and the new amount or duration it sets (DECP
    ``modifications``: each gives the new values, the original stays)."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="amendments")
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveSmallIntegerField(_("number"), validators=[MinValueValidator(1)])
    object = models.TextField(_("object of the amendment"), max_length=MAX_OBJECT)
    notified_on = models.DateField(_("notified on"))
    new_amount = models.DecimalField(
        _("new amount excl. VAT"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    new_duration_months = models.PositiveSmallIntegerField(
        _("new duration in months"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # None: written by the member's API client (actors.py; the audit event names it).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "number"], name="contracts_amendment_number"
            ),
            models.CheckConstraint(
                condition=models.Q(new_amount__isnull=False)
                | models.Q(new_duration_months__isnull=False),
                name="contracts_amendment_changes_something",
            ),
        ]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.contract_id}#{self.number}"


class Order(TwoPartyOwned):
    """A purchase order (bon de commande) under a framework agreement (accord-cadre à
    bons de commande, R2162-13), appended: its number, date, object and amount excl.
    VAT. Subsequent contracts (marchés subséquents) are not recorded here."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="orders")
    company = models.ForeignKey("companies.Company", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("order number"), max_length=30)
    issued_on = models.DateField(_("issued on"))
    object = models.TextField(_("object of the order"), max_length=MAX_OBJECT)
    amount = models.DecimalField(
        _("amount excl. VAT"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # None: written by the member's API client (actors.py; the audit event names it).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="contracts_order_number"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="contracts_order_amount_valid"
            ),
        ]
        ordering = ["issued_on", "pk"]

    def __str__(self) -> str:
        return f"{self.contract_id}/{self.number}"


class RetentionPurge(OrganisationOwned):
    """The purge, past its retention period, of the applications and tenders a
    procedure did not retain (``retention.py``): once per consultation."""

    consultation = models.OneToOneField(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    ended_on = models.DateField(_("procedure ended on"))
    due_on = models.DateField(_("retention period over on"))
    purged_at = models.DateTimeField(_("purged on"))
    # The deposits whose files were purged, and what the deposits context reported.
    deposits = models.JSONField(default=list)
    result = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.consultation_id}: {self.purged_at:%Y-%m-%d}"


class PackageKind(models.TextChoices):
    PROCEDURE = "procedure", _("archive package of a procedure")
    EXPORT = "export", _("export of every procedure")


class PackageState(models.TextChoices):
    REQUESTED = "requested", _("being prepared")
    READY = "ready", _("ready")
    FAILED = "failed", _("failed")


class ArchivePackage(OrganisationOwned):
    """A ZIP the background job writes into the private file store (``archive.py``):
    the archive package of one finished procedure, or the export of all of the
    member's finished procedures (reversibility)."""

    kind = models.CharField(_("kind"), max_length=10, choices=PackageKind.choices)
    consultation = models.ForeignKey(
        "procurement.Consultation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=10, choices=PackageState.choices, default=PackageState.REQUESTED
    )
    file = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sha256 = models.CharField(max_length=64, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    requested_at = models.DateTimeField(_("requested on"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(_("completed on"), null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=PackageKind.values)
                & models.Q(state__in=PackageState.values)
                & (
                    models.Q(kind=PackageKind.EXPORT, consultation__isnull=True)
                    | models.Q(kind=PackageKind.PROCEDURE, consultation__isnull=False)
                ),
                name="contracts_package_valid",
            ),
        ]
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.consultation_id or '-'}:{self.state}"
