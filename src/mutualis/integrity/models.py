"""What the integrity job computed: the flags of each procedure and each buyer's figures.

Derived rows, rewritten whole by each run of the job (``computation.py``), each with the
computation's date. They belong to the buyer whose procedures they describe
(``OrganisationOwned``): the buyer reads its own, the operator every buyer's through a
named crossing; they are never public. The figures they keep are counts, shares and
gaps: no company's name and no offer's price, which stay on the buyer's own pages.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from mutualis.core.models import OrganisationOwned

from .indicators import Indicator


class ProcedureFlag(OrganisationOwned):
    """One indicator raised on one procedure (``consultation``: the first consultation of
    a two-phase procedure) and, where it is per lot, one of its lots."""

    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.CASCADE, related_name="+"
    )
    lot = models.ForeignKey(
        "procurement.Lot", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    indicator = models.CharField(_("indicator"), max_length=20, choices=Indicator.choices)
    # What was seen, in figures (indicators.py says which keys each indicator writes).
    facts = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed on"))

    class Meta:
        ordering = ["consultation", "lot", "indicator"]
        constraints = [
            models.CheckConstraint(
                condition=Q(indicator__in=Indicator.values), name="integrity_flag_indicator"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "consultation"])]

    def __str__(self) -> str:
        return f"{self.consultation_id}/{self.lot_id or '-'}: {self.indicator}"


class BuyerIndicator(OrganisationOwned):
    """One indicator for one buyer: how many of its procedures (or lots) were counted,
    how many were flagged, and the share."""

    indicator = models.CharField(_("indicator"), max_length=20, choices=Indicator.choices)
    counted = models.PositiveIntegerField(_("counted"), default=0)
    flagged = models.PositiveIntegerField(_("flagged"), default=0)
    share = models.DecimalField(_("share"), max_digits=5, decimal_places=4, null=True, blank=True)
    facts = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(_("computed on"))

    class Meta:
        ordering = ["organisation", "indicator"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "indicator"], name="integrity_one_figure_per_buyer"
            ),
            models.CheckConstraint(
                condition=Q(indicator__in=Indicator.values), name="integrity_buyer_indicator"
            ),
            models.CheckConstraint(
                condition=Q(flagged__lte=models.F("counted")), name="integrity_flagged_counted"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}: {self.indicator} {self.flagged}/{self.counted}"

    @property
    def percent(self) -> Decimal | None:
        return None if self.share is None else (self.share * 100).quantize(Decimal("0.1"))


class Computation(models.Model):
    """One run of the job over every member: the platform's, not a member's row."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    procedures = models.PositiveIntegerField(default=0)
    flags = models.PositiveIntegerField(default=0)
    buyers = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-finished_at", "-pk"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M}"
