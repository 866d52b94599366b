"""Alerts: searches a person saved, to be told of the new consultations that match them.

An alert is the person's own (``user``), not a member's or a company's: businesses and
anyone else follow the public portal, and a person sees and changes only their alerts
(another person's alert is 404). Its criteria are the portal's (``alert_matching``);
``words`` holds the query ``q`` compiled once, so that matching never folds text again.
``AlertDelivery`` records each consultation sent for an alert, under a unique
constraint: a job that runs twice, or two workers at once, never send it twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AlertFrequency(models.TextChoices):
    IMMEDIATE = "immediate", _("At once, for each new consultation")
    DAILY = "daily", _("Once a day, in a digest")


class Alert(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="procurement_alerts"
    )
    name = models.CharField(_("name"), max_length=100)
    q = models.CharField(_("words"), max_length=200, blank=True, default="")
    # The query's words folded, "-" before an excluded one (alert_matching.compiled_words).
    words = models.JSONField(default=list, blank=True, editable=False)
    cpv_prefixes = models.JSONField(_("CPV prefixes"), default=list, blank=True)
    departements = models.JSONField(_("départements"), default=list, blank=True)
    procedures = models.JSONField(_("procedures"), default=list, blank=True)
    categories = models.JSONField(_("categories"), default=list, blank=True)
    buyers = models.JSONField(_("buyers"), default=list, blank=True)
    frequency = models.CharField(
        _("frequency"),
        max_length=10,
        choices=AlertFrequency.choices,
        default=AlertFrequency.DAILY,
    )
    is_active = models.BooleanField(_("active"), default=True)
    # The secret of the alert's Atom feed URL (regenerated on demand).
    feed_token = models.CharField(max_length=64, unique=True, editable=False)
    # The end of the window the last digest covered (daily alerts): the next one covers
    # what was published since.
    digest_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(frequency__in=AlertFrequency.values), name="alert_frequency_valid"
            ),
        ]
        indexes = [models.Index(fields=["frequency", "is_active"], name="alert_frequency_active")]

    def __str__(self) -> str:
        return f"alert:{self.pk} {self.name}"


class AlertDelivery(models.Model):
    """A consultation sent for an alert (by e-mail at once, or in a digest)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    consultation = models.ForeignKey(
        "procurement.Consultation", on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        constraints = [
            models.UniqueConstraint(fields=["alert", "consultation"], name="alert_delivery_unique"),
        ]

    def __str__(self) -> str:
        return f"alert:{self.alert_id} consultation:{self.consultation_id}"
