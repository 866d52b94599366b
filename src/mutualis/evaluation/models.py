"""The analysis of the offers of a consultation (or of one of its lots), the buyer's alone:
its criteria and sub-criteria, the offers with their prices, each evaluator's scores.

The bidders see none of it (no company dimension): the award letters (issue 15, later)
tell them what they may know."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mutualis.core.models import OrganisationOwned

from . import scoring

MAX_LABEL = 200
MAX_COMMENT = 2000


class AnalysisState(models.TextChoices):
    DRAFT = "draft", _("being prepared")
    SCORING = "scoring", _("being scored")
    CLOSED = "closed", _("closed")


class PriceMethod(models.TextChoices):
    PROPORTIONAL = scoring.PriceMethod.PROPORTIONAL.value, _("lowest price / price x weight")
    LINEAR = (
        scoring.PriceMethod.LINEAR.value,
        _("linear between the lowest price (full weight) and the highest (0)"),
    )


class LowRule(models.TextChoices):
    RATIO = scoring.LowRule.RATIO.value, _("below a share of the mean of the other offers")
    DEVIATION = (
        scoring.LowRule.DEVIATION.value,
        _("below the mean of the offers minus one standard deviation"),
    )


class Analysis(OrganisationOwned):
    """The analysis of the offers of a consultation, per lot when it has lots."""

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        "procurement.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=AnalysisState.choices, default=AnalysisState.DRAFT
    )
    price_method = models.CharField(
        _("price formula"),
        max_length=16,
        choices=PriceMethod.choices,
        default=PriceMethod.PROPORTIONAL,
    )
    scale = models.PositiveSmallIntegerField(
        _("score scale (0 to)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    low_rule = models.CharField(
        _("abnormally low offers"), max_length=10, choices=LowRule.choices, default=LowRule.RATIO
    )
    low_threshold = models.DecimalField(
        _("share of the mean (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal(80),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(100))],
    )
    created_at = models.DateTimeField(_("created on"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=AnalysisState.values), name="evaluation_analysis_state"
            ),
            models.CheckConstraint(
                condition=Q(scale__gte=1) & Q(scale__lte=100), name="evaluation_analysis_scale"
            ),
            models.UniqueConstraint(
                fields=["consultation"],
                condition=Q(lot__isnull=True),
                name="evaluation_analysis_one_per_consultation",
            ),
            models.UniqueConstraint(
                fields=["consultation", "lot"],
                condition=Q(lot__isnull=False),
                name="evaluation_analysis_one_per_lot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consultation_id}/{self.lot_id or '-'}"


class AnalysisCriterion(OrganisationOwned):
    """A criterion (copied from the consultation's) or a sub-criterion (``parent`` set,
    added by the buyer before scoring starts), with its weight in points out of 100."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="criteria")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="subcriteria"
    )
    label = models.CharField(_("criterion"), max_length=MAX_LABEL)
    weight = models.DecimalField(
        _("weight"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal(100))],
    )
    is_price = models.BooleanField(_("price criterion"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["analysis", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gt=0) & Q(weight__lte=100), name="evaluation_criterion_weight"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Offer(OrganisationOwned):
    """An offer under analysis: an acknowledged, on-time offer deposit, opened; its price
    (excluding VAT) entered by a buyer from the opened documents."""

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="offers")
    deposit = models.ForeignKey("deposits.Deposit", on_delete=models.PROTECT, related_name="+")
    price = models.DecimalField(
        _("price excluding VAT"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    price_entered_at = models.DateTimeField(null=True, blank=True)
    price_entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["analysis", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["analysis", "deposit"], name="evaluation_offer_once"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0), name="evaluation_offer_price"
            ),
        ]

    def __str__(self) -> str:
        return str(self.deposit_id)


class Score(OrganisationOwned):
    """One evaluator's score and comment on one offer for one scored (sub-)criterion."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(
        AnalysisCriterion, on_delete=models.CASCADE, related_name="scores"
    )
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    value = models.DecimalField(_("score"), max_digits=5, decimal_places=2)
    comment = models.TextField(_("comment"), max_length=MAX_COMMENT, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "criterion", "evaluator"], name="evaluation_score_once"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="evaluation_score_positive"),
        ]

    def __str__(self) -> str:
        return str(self.value)
