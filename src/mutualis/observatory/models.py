"""The observatory's own tables: the figures a refresh computes, and the refreshes.

Nothing here is a member's private row: every figure is computed from public facts
(published consultations, notified awards) and belongs to no organisation's scope, so
the public pages read these tables directly. A refresh (``refresh.py``) writes its
``Figure`` rows under its own ``Refresh``; pages read the rows of the latest finished
refresh only, so a page never mixes two refreshes, even when one commits between two of
its queries. ``ProcedureFact`` rows are the refresh's scratch work (one per public
procedure), deleted in the transaction that wrote them.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

AMOUNT_DIGITS = 18  # sums of amounts of up to 999 999 999 999,99 € each


class Refresh(models.Model):
    started_at = models.DateTimeField(_("started on"))
    finished_at = models.DateTimeField(_("finished on"), null=True, blank=True)
    procedures = models.PositiveIntegerField(_("procedures counted"), default=0)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("observatory refresh")
        verbose_name_plural = _("observatory refreshes")

    def __str__(self) -> str:
        return f"refresh {self.pk} ({self.finished_at or 'running'})"


class Dimension(models.TextChoices):
    ALL = "all", _("All procedures")
    CATEGORY = "category", _("Nature of the purchase")
    PROCEDURE = "procedure", _("Procedure")
    CPV = "cpv", _("CPV division")


# ``year`` of a figure over every year.
ALL_YEARS = 0


class Figure(models.Model):
    """The figures of one group of procedures: a member's (``organisation``) or the
    territory's (None), one year (``ALL_YEARS``: every year), one value of a dimension
    (``dimension`` ``all``: every procedure, ``value`` empty)."""

    # A refresh writes some 200,000 rows for 2,000 members: no per-row foreign-key check
    # nor single-column index to maintain. The refresh writes them from the rows it just
    # read in the same transaction, and deletes them by refresh (the composite index);
    # Django still cascades a deleted organisation's rows itself.
    refresh = models.ForeignKey(
        Refresh, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    organisation = models.ForeignKey(
        "core.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    year = models.PositiveSmallIntegerField()
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    value = models.CharField(max_length=30, blank=True, default="")
    procedures = models.PositiveIntegerField(default=0)
    # Procedures with at least one notified award, and their awarded amounts excl. VAT.
    awarded = models.PositiveIntegerField(default=0)
    amount_awarded = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2, default=0)
    # Estimated values of the procedures not (yet) awarded, cancelled ones excepted.
    amount_estimated = models.DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=2, default=0)
    # Notified awards to a company (a lot, or a procedure without lots): those whose
    # winner states its size, those to an SME; those whose winner states its département,
    # those to a business of the buyer's département.
    wins = models.PositiveIntegerField(default=0)
    wins_sized = models.PositiveIntegerField(default=0)
    wins_sme = models.PositiveIntegerField(default=0)
    wins_located = models.PositiveIntegerField(default=0)
    wins_local = models.PositiveIntegerField(default=0)
    # Offers received (on time) by the procedures with a notified award, and how many.
    responses_total = models.PositiveIntegerField(default=0)
    responses_known = models.PositiveIntegerField(default=0)
    # Days from the publication to the first award letters.
    delays_known = models.PositiveIntegerField(default=0)
    delay_mean = models.FloatField(null=True, blank=True)
    delay_median = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["refresh", "organisation", "year"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(dimension__in=Dimension.values),
                name="observatory_figure_dimension_valid",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.refresh_id}:{self.organisation_id or 'territory'}:{self.year}:{self.dimension}"
        )


class ProcedureFact(models.Model):
    """One public procedure as a refresh reads it (scratch rows of that refresh, deleted
    by the transaction that wrote them: no foreign-key check nor index to maintain)."""

    refresh = models.ForeignKey(
        Refresh, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    consultation_id = models.BigIntegerField()
    organisation_id = models.BigIntegerField()
    year = models.PositiveSmallIntegerField()
    category = models.CharField(max_length=10)
    procedure = models.CharField(max_length=30)
    cpv_division = models.CharField(max_length=2)
    amount_awarded = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=2, null=True, blank=True
    )
    amount_estimated = models.DecimalField(
        max_digits=AMOUNT_DIGITS, decimal_places=2, null=True, blank=True
    )
    wins = models.PositiveIntegerField(default=0)
    wins_sized = models.PositiveIntegerField(default=0)
    wins_sme = models.PositiveIntegerField(default=0)
    wins_located = models.PositiveIntegerField(default=0)
    wins_local = models.PositiveIntegerField(default=0)
    responses = models.PositiveIntegerField(null=True, blank=True)
    delay_days = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.refresh_id}:{self.consultation_id}"
