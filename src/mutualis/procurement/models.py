"""Consultations: what a member's buyers put out to tender, its lots and award criteria.

Every row belongs to the member that runs the consultation (``OrganisationOwned``) and is
read inside that member's scope; the public pages read published consultations through
the named crossings of ``crossings.py``. Deadlines are stored in UTC and entered and
shown in Europe/Paris (``deadlines.py``). The state is written by ``transitions.apply``
alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mutualis.core import fulltext
from mutualis.core.models import OrganisationOwned

from .vocabulary import Category, Ccag, ContractNature, PriceForm, Procedure


class State(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("consultation state", "Draft")
    SCHEDULED = "scheduled", pgettext_lazy("consultation state", "Scheduled")
    PUBLISHED = "published", pgettext_lazy("consultation state", "Published")
    CLOSED = "closed", pgettext_lazy("consultation state", "Closed")
    CANCELLED = "cancelled", pgettext_lazy("consultation state", "Cancelled")


# The states the public sees: a draft or a scheduled consultation is the buyer's alone.
PUBLIC_STATES = [State.PUBLISHED, State.CLOSED, State.CANCELLED]


class CancellationKind(models.TextChoices):
    # R2185-1 of the Code de la commande publique: "infructueuse" when no acceptable
    # tender came, "sans suite" when the buyer gives up the purchase (general interest).
    UNSUCCESSFUL = "unsuccessful", _("Unsuccessful (no appropriate tender)")
    DISCONTINUED = "discontinued", _("Discontinued (for a reason of general interest)")


class Consultation(OrganisationOwned):
    reference = models.CharField(_("internal reference"), max_length=50)
    title = models.CharField(_("title"), max_length=200)
    object = models.TextField(_("object of the contract"), max_length=1000)
    # HTML sanitised by ``text.sanitise`` (nh3) before it is stored.
    description = models.TextField(_("description"), blank=True, default="")
    procedure = models.CharField(_("procedure"), max_length=30, choices=Procedure.choices)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    contract_nature = models.CharField(
        _("nature of the contract"),
        max_length=12,
        choices=ContractNature.choices,
        default=ContractNature.CONTRACT,
    )
    # CPV codes without their check digit (8 digits, as the DECP prefers).
    main_cpv = models.CharField(_("main CPV code"), max_length=8)
    additional_cpv = models.JSONField(_("additional CPV codes"), default=list, blank=True)
    place_of_execution = models.CharField(_("place of execution"), max_length=200, blank=True)
    estimated_value = models.DecimalField(
        _("estimated value (excluding VAT)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    questions_deadline = models.DateTimeField(_("deadline for questions"))
    response_deadline = models.DateTimeField(_("deadline for responses"))
    signature_required = models.BooleanField(_("responses must be signed"), default=False)
    contact = models.TextField(_("contact"), max_length=1000)
    # What the open data (DECP 2.0.3) needs, recorded from the start (vocabulary.py).
    ccag = models.CharField(_("CCAG"), max_length=20, choices=Ccag.choices, blank=True)
    techniques = models.JSONField(_("purchasing techniques"), default=list, blank=True)
    execution_modes = models.JSONField(_("execution modes"), default=list, blank=True)
    price_types = models.JSONField(_("price types"), default=list, blank=True)
    price_form = models.CharField(
        _("price form"), max_length=10, choices=PriceForm.choices, blank=True
    )
    social_considerations = models.JSONField(_("social considerations"), default=list, blank=True)
    environmental_considerations = models.JSONField(
        _("environmental considerations"), default=list, blank=True
    )
    innovative = models.BooleanField(_("innovative purchase"), default=False)
    advance_payment = models.BooleanField(_("advance payment"), default=False)
    duration_months = models.PositiveSmallIntegerField(
        _("duration in months"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1200)],
    )

    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    # When a scheduled consultation is to be published.
    publish_at = models.DateTimeField(_("publication planned on"), null=True, blank=True)
    published_at = models.DateTimeField(_("published on"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled on"), null=True, blank=True)
    cancellation_kind = models.CharField(
        _("cancellation"), max_length=12, choices=CancellationKind.choices, blank=True
    )
    cancellation_reason = models.TextField(_("reason for cancellation"), blank=True)
    # When the periodic job next has something to record (transitions.apply sets it):
    # the publication of a scheduled consultation, the closing of a published one.
    next_check = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    # The public search's document (core.fulltext), written by save(): reference and
    # title (weight A), object (B), description without its tags (C). search_text holds
    # it folded (SQLite), search_vector as a tsvector under a GIN index (PostgreSQL).
    search_text = models.TextField(blank=True, default="", editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=State.values), name="consultation_state_valid"
            ),
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="consultation_reference_unique"
            ),
            # A cancelled consultation says why, publicly.
            models.CheckConstraint(
                condition=~Q(state=State.CANCELLED) | ~Q(cancellation_reason=""),
                name="consultation_cancelled_with_reason",
            ),
        ]
        indexes = [models.Index(fields=["state", "response_deadline"])]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        # The base manager: a save may come from any scope (a service, the job, the demo).
        fulltext.index(
            type(self)._base_manager.filter(pk=self.pk),
            {
                "A": [self.reference, self.title],
                "B": [self.object],
                "C": [strip_tags(self.description)],
            },
        )

    def is_open(self, now: datetime) -> bool:
        """Whether responses are accepted at ``now``: computed from the deadline at each
        read, never from the stored state alone, which the job records up to a minute
        later."""
        return self.state == State.PUBLISHED and now < self.response_deadline

    @property
    def is_public(self) -> bool:
        return self.state in PUBLIC_STATES

    @property
    def cpv_codes(self) -> list[str]:
        return [self.main_cpv, *self.additional_cpv]


class Lot(OrganisationOwned):
    """A lot of a consultation. A consultation without lots is awarded as one lot."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="lots")
    number = models.PositiveSmallIntegerField(_("number"), validators=[MinValueValidator(1)])
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    cpv_codes = models.JSONField(_("CPV codes"), default=list, blank=True)
    estimated_value = models.DecimalField(
        _("estimated value (excluding VAT)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        ordering = ["consultation", "number"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "number"], name="lot_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class AwardCriterion(OrganisationOwned):
    """A criterion the tenders are judged on, with its weight in percent; the weights
    of a consultation total 100 when it is published."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="criteria"
    )
    label = models.CharField(_("criterion"), max_length=200)
    weight = models.PositiveSmallIntegerField(
        _("weight (%)"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("award criterion")
        verbose_name_plural = _("award criteria")
        ordering = ["consultation", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gte=1) & Q(weight__lte=100), name="criterion_weight_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.weight} %)"


# Alerts (saved searches of a person) live in their own module; imported here so that
# Django finds their models.
from .alerts_models import Alert, AlertDelivery, AlertFrequency  # noqa: E402, F401
