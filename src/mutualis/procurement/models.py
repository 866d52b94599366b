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

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.html import strip_tags
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from mutualis.core import fulltext
from mutualis.core.models import OrganisationOwned, TwoPartyOwned

from .vocabulary import TWO_PHASE, Category, Ccag, ContractNature, PriceForm, Procedure


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
    # An adapted procedure may negotiate only when its rules reserve it (R2123-5):
    # ``vocabulary.allows_negotiation``.
    negotiation_reserved = models.BooleanField(
        _("the buyer reserves the possibility to negotiate"), default=False
    )
    # The ESPD selection criteria the buyer sets (``espd_selection.py``): a list of
    # {"code": taxonomy code, "values": {requirement type: value as text}}.
    espd_selection = models.JSONField(_("ESPD selection criteria"), default=list, blank=True)

    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    # The operator's permanent test consultation (simulation.py): published, open
    # to every company's deposit simulation and the availability probe, never listed.
    is_test = models.BooleanField(_("test consultation"), default=False, editable=False)
    # The offer phase of a two-phase procedure (``TWO_PHASE``: restricted…): a
    # consultation of its own, opened when the buyer notifies its admission decisions
    # (``phases.open_offer_phase``), never public; only the companies it invites deposit
    # there. Its ``response_deadline`` is the deadline for offers; the parent's, the
    # deadline for applications.
    parent = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offer_phase",
        editable=False,
    )
    invited_companies = models.ManyToManyField(
        "companies.Company", blank=True, related_name="+", editable=False
    )
    # 0 for a first consultation and an offer phase; 1, 2, … for the negotiation rounds
    # (``rounds.open_round``), each the child of the consultation whose offers it
    # negotiates: the first consultation (an adapted procedure), the offer phase, or the
    # round before. ``parent`` being one-to-one, the consultations of a procedure form a
    # chain.
    round = models.PositiveSmallIntegerField(_("negotiation round"), default=0, editable=False)
    # When a scheduled consultation is to be published.
    publish_at = models.DateTimeField(_("publication planned on"), null=True, blank=True)
    published_at = models.DateTimeField(_("published on"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed on"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled on"), null=True, blank=True)
    cancellation_kind = models.CharField(
        _("cancellation"), max_length=12, choices=CancellationKind.choices, blank=True
    )
    cancellation_reason = models.TextField(_("reason for cancellation"), blank=True)
    # The version of what is public: 1 as published, one more at each rectification
    # (``Rectification``); the files record the versions that added and withdrew them.
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # When the periodic job next has something to record (transitions.apply sets it):
    # the publication of a scheduled consultation, the closing of a published one.
    next_check = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    # The public search's document (core.fulltext), written by save(): reference and
    # title (weight A), object (B), description without its tags (C). search_text holds
    # it folded (SQLite), search_vector as a tsvector under a GIN index (PostgreSQL).
    search_text = models.TextField(blank=True, default="", editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    # Every prefix (2 to 8 digits) of every CPV code of the consultation: main, additional
    # and its lots' (``cpv_prefixes``), written by save() and by the lots' save and delete.
    # The search's CPV filter reads it: ``@>`` under a GIN index on PostgreSQL (migration
    # 0008), the JSON text on SQLite.
    cpv_prefixes = models.JSONField(default=list, editable=False)
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
            # A round negotiates the offers of the consultation it is the child of.
            models.CheckConstraint(
                condition=Q(round=0) | (Q(round__gte=1) & Q(parent__isnull=False)),
                name="consultation_round_has_parent",
            ),
            # One permanent test consultation on the instance.
            models.UniqueConstraint(
                fields=["is_test"], condition=Q(is_test=True), name="one_test_consultation"
            ),
        ]
        indexes = [
            # The open ones have their own partial indexes (0012, 0015): an index on
            # (state, deadline) only misled the planner into ANDing it (0015).
            # The portal's orders (procurement.search): newest first, soonest deadline
            # first; a broad query reads them in order and stops at a page.
            models.Index(fields=["-published_at", "-id"], name="consultation_recent"),
            models.Index(fields=["response_deadline", "id"], name="consultation_deadline"),
        ]

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
        self.cpv_prefixes = refresh_cpv_prefixes(self.pk, [self.main_cpv, *self.additional_cpv])

    def is_open(self, now: datetime) -> bool:
        """Whether responses are accepted at ``now``: computed from the deadline at each
        read, never from the stored state alone, which the job records up to a minute
        later."""
        return self.state == State.PUBLISHED and now < self.response_deadline

    @property
    def is_public(self) -> bool:
        """Past publication (published, closed or cancelled); an offer phase is so
        too, though its page is for its invited companies and its buyer only."""
        return self.state in PUBLIC_STATES

    @property
    def takes_applications(self) -> bool:
        """A two-phase procedure's first consultation: its deposits are applications,
        until its deadline (the deadline for applications)."""
        return self.procedure in TWO_PHASE and self.parent_id is None

    @property
    def is_offer_phase(self) -> bool:
        """A child consultation (an offer phase or a negotiation round): never public,
        its invited companies' only."""
        return self.parent_id is not None

    @property
    def is_round(self) -> bool:
        return self.round > 0

    @property
    def cpv_codes(self) -> list[str]:
        return [self.main_cpv, *self.additional_cpv]


def cpv_prefixes(codes: Any) -> list[str]:
    """Every prefix of 2 to 8 digits of ``codes`` (``45261000`` gives 45, 452, …,
    45261000), sorted: what a search by CPV prefix (``search.CpvPrefixField``) matches."""
    prefixes: set[str] = set()
    for code in codes:
        digits = str(code or "").split("-")[0][:8]
        if digits.isdigit():
            prefixes.update(digits[:n] for n in range(2, len(digits) + 1))
    return sorted(prefixes)


def refresh_cpv_prefixes(consultation_id: Any, own_codes: list[str] | None = None) -> list[str]:
    """Write ``Consultation.cpv_prefixes`` of one consultation from its codes
    (``own_codes``, read when not given) and its lots' codes; returns them. The base
    managers: a save may come from any scope (a service, the job, the demo)."""
    if consultation_id is None:
        return []
    rows = Consultation._base_manager.filter(pk=consultation_id)
    if own_codes is None:
        found = rows.values_list("main_cpv", "additional_cpv").first()
        if found is None:
            return []  # deleted with its lots
        own_codes = [found[0], *(found[1] or [])]
    codes = list(own_codes)
    for lot_codes in Lot._base_manager.filter(consultation_id=consultation_id).values_list(
        "cpv_codes", flat=True
    ):
        codes.extend(lot_codes or [])
    prefixes = cpv_prefixes(codes)
    rows.update(cpv_prefixes=prefixes)
    return prefixes


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

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        refresh_cpv_prefixes(self.consultation_id)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        refresh_cpv_prefixes(self.consultation_id)
        return deleted


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


# --- Buyers' shared workspace: group purchasing, ESPD selection, the library ---------------


class GroupParticipation(OrganisationOwned):
    """A member taking part in a group purchase ("groupement de commandes") that another
    member coordinates: the row is the participant's (``organisation``), so that the
    participant reads it in its own scope, and points at the coordinator's consultation,
    which the participant reads only once public, through the crossings. The coordinator
    writes it while drafting (``groups.py``) and reads its group through a named
    crossing. Each share is a percentage of the purchase, an estimated amount, or both.
    """

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="participations"
    )
    share_percent = models.DecimalField(
        _("share (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    share_amount = models.DecimalField(
        _("estimated amount of the share (excluding VAT)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("group purchase participation")
        verbose_name_plural = _("group purchase participations")
        ordering = ["consultation", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "organisation"], name="participation_unique"
            ),
            models.CheckConstraint(
                condition=Q(share_percent__isnull=False) | Q(share_amount__isnull=False),
                name="participation_has_a_share",
            ),
            models.CheckConstraint(
                condition=Q(share_percent__isnull=True)
                | (Q(share_percent__gt=0) & Q(share_percent__lte=100)),
                name="participation_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} in {self.consultation_id}"


class LibraryKind(models.TextChoices):
    ADMINISTRATIVE = "administrative", _("Administrative clause")
    TECHNICAL = "technical", _("Technical clause")
    SOCIAL_ENVIRONMENTAL = "social_environmental", _("Social or environmental clause")
    TEMPLATE = "template", _("Template document text")


class LibraryEntry(models.Model):
    """A clause or a template text of the library the operator curates for every buyer:
    no member owns it (no ``organisation``), members read it and copy it into their
    consultations, operator staff write it in the back office (``library.py``)."""

    kind = models.CharField(_("kind"), max_length=24, choices=LibraryKind.choices)
    title = models.CharField(_("title"), max_length=200)
    # HTML sanitised by ``text.sanitise`` (nh3) before it is stored.
    body = models.TextField(_("text"))
    keywords = models.CharField(_("keywords"), max_length=300, blank=True, default="")
    # A withdrawn entry stays for the record (proposals point at it) but is not offered.
    is_active = models.BooleanField(_("offered to buyers"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("library entry")
        verbose_name_plural = _("library entries")
        ordering = ["kind", "title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=LibraryKind.values), name="library_entry_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProposalState(models.TextChoices):
    PROPOSED = "proposed", pgettext_lazy("library proposal state", "Proposed")
    ACCEPTED = "accepted", pgettext_lazy("library proposal state", "Accepted")
    REJECTED = "rejected", pgettext_lazy("library proposal state", "Rejected")


class LibraryProposal(OrganisationOwned):
    """A clause a member proposes for the library: the member's row; the operator accepts
    it (it becomes a ``LibraryEntry``) or rejects it with a reason the member reads."""

    kind = models.CharField(_("kind"), max_length=24, choices=LibraryKind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    keywords = models.CharField(_("keywords"), max_length=300, blank=True, default="")
    note = models.TextField(_("note to the operator"), max_length=2000, blank=True, default="")
    state = models.CharField(
        _("state"), max_length=10, choices=ProposalState.choices, default=ProposalState.PROPOSED
    )
    rejection_reason = models.TextField(_("reason for the rejection"), blank=True, default="")
    entry = models.ForeignKey(
        LibraryEntry,
        verbose_name=_("library entry"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("library proposal")
        verbose_name_plural = _("library proposals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ProposalState.values), name="library_proposal_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state=ProposalState.REJECTED) | ~Q(rejection_reason=""),
                name="library_proposal_rejected_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title


# The owner kind of the consultation files in the platform's file store (core.files).
DOCUMENT_OWNER_KIND = "procurement.document"


class ConsultationDocument(OrganisationOwned):
    """A file of a consultation's DCE (dossier de consultation des entreprises).

    The bytes, their sanitised name, the type read from them, the size and the SHA-256
    are the stored file's (``core.files``). A draft's files come and go freely; once the
    consultation is published, a file is added or withdrawn only by a rectification,
    which records its version here: a withdrawn file stays listed, with its hash, in the
    public history, and leaves the current set (and its ZIP).
    """

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="documents"
    )
    file = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", verbose_name=_("file")
    )
    added_in_version = models.PositiveIntegerField(_("added in version"), default=1)
    withdrawn_in_version = models.PositiveIntegerField(
        _("withdrawn in version"), null=True, blank=True
    )
    added_at = models.DateTimeField(_("added on"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn on"), null=True, blank=True)

    class Meta:
        verbose_name = _("consultation file")
        verbose_name_plural = _("consultation files")
        ordering = ["consultation", "added_in_version", "added_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_in_version__isnull=True)
                | Q(withdrawn_in_version__gt=models.F("added_in_version")),
                name="document_withdrawn_after_added",
            ),
        ]

    def __str__(self) -> str:
        return self.file.original_name

    @property
    def is_current(self) -> bool:
        return self.withdrawn_in_version is None


class Rectification(OrganisationOwned):
    """A rectification of a published consultation: what is published is never edited
    in place. Rectification ``number`` n publishes version n + 1 of the consultation
    (version 1 is the original publication); ``changes`` keeps each changed field's
    value before and after (deadlines in ISO 8601, UTC), for the public history."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="rectifications"
    )
    number = models.PositiveSmallIntegerField(_("number"), validators=[MinValueValidator(1)])
    published_at = models.DateTimeField(_("published on"))
    summary = models.TextField(_("what changes"), max_length=2000)
    changes = models.JSONField(_("changed fields"), default=dict, blank=True)
    deadlines_moved = models.BooleanField(_("deadlines moved"), default=False)

    class Meta:
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        ordering = ["consultation", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"], name="rectification_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.consultation_id} v{self.version}"

    @property
    def version(self) -> int:
        return self.number + 1


# --- Identified downloaders, their downloads, questions and answers ---------------------
# (downloaders.py, questions.py). A line of the download register is held by the buyer's
# organisation and by the company it names (core.models.TwoPartyOwned, ADR 0003).


class Downloader(TwoPartyOwned):
    """Someone who identified on a published consultation's public page: a line of the
    download register.

    Through an account (``via_account``: a person acting for one of their companies, the
    address their account's) or by typing a name, an e-mail address and a SIRET. The
    company side is the platform's ``Company`` of that SIRET's SIREN when one exists,
    else none (a business not on the platform is held by the buyer alone). Nothing but
    the confirmation is sent to the address until ``confirmed_at`` is set.
    """

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="+")
    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    via_account = models.BooleanField(_("identified through an account"), default=False)
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail address"))
    siret = models.CharField(_("SIRET"), max_length=14)
    company_name = models.CharField(_("company"), max_length=200, blank=True, default="")
    confirmed_at = models.DateTimeField(_("e-mail confirmed on"), null=True, blank=True)
    identified_at = models.DateTimeField(_("identified on"), auto_now_add=True)
    download_count = models.PositiveIntegerField(_("downloads"), default=0)
    last_download_at = models.DateTimeField(_("last download"), null=True, blank=True)

    class Meta:
        verbose_name = _("identified downloader")
        verbose_name_plural = _("identified downloaders")
        ordering = ["consultation", "identified_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "email"], name="downloader_email_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> ({self.siret})"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecordedDownload(TwoPartyOwned):
    """One download by an identified downloader: which files (their ids; all of them for
    the ZIP), and when."""

    downloader = models.ForeignKey(Downloader, on_delete=models.CASCADE, related_name="downloads")
    company = models.ForeignKey(
        "companies.Company", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    document_ids = models.JSONField(default=list, blank=True)
    downloaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["downloader", "-downloaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.downloader_id} @ {self.downloaded_at:%Y-%m-%d %H:%M}"


class Question(OrganisationOwned):
    """A question an identified downloader asked the buyer. Who asked stays the buyer's:
    the public page shows the published answer alone."""

    consultation = models.ForeignKey(
        Consultation, on_delete=models.CASCADE, related_name="questions"
    )
    downloader = models.ForeignKey(Downloader, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("question"), max_length=4000)
    asked_at = models.DateTimeField(_("asked on"), auto_now_add=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["consultation", "asked_at", "pk"]

    def __str__(self) -> str:
        return self.text[:60]


class Answer(OrganisationOwned):
    """What the buyer publishes to everyone: the answer to a question (the question as
    the buyer publishes it, without who asked) or information given without a question."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="answers")
    question = models.OneToOneField(
        Question, on_delete=models.PROTECT, null=True, blank=True, related_name="answer"
    )
    # The question as published: the buyer may reword it so that it names nobody.
    question_text = models.TextField(_("question"), max_length=4000, blank=True, default="")
    # HTML sanitised by ``text.sanitise`` (nh3) before it is stored.
    body = models.TextField(_("answer"))
    published_at = models.DateTimeField(_("published on"), auto_now_add=True)

    class Meta:
        verbose_name = _("published answer")
        verbose_name_plural = _("published answers")
        ordering = ["consultation", "published_at", "pk"]

    def __str__(self) -> str:
        return self.question_text[:60] or str(self.pk)


class DownloaderNotice(OrganisationOwned):
    """That an identified downloader was told of a published answer or rectification:
    the job that mails them may run twice, the e-mail goes once."""

    downloader = models.ForeignKey(Downloader, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)  # "answer" or "rectification"
    reference = models.PositiveBigIntegerField()  # the answer's or rectification's id
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["downloader", "kind", "reference"], name="downloader_notice_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.reference} → {self.downloader_id}"


# The owner kind of the archives of a consultation's current files (``archives.py``).
ARCHIVE_OWNER_KIND = "procurement.archive"


class ConsultationArchive(OrganisationOwned):
    """The ZIP of a published consultation's current files, written once per published
    version by a background job (``archives.py``) and served like any stored file
    (sendfile, ranges, ETag). One row per consultation: it holds the latest version
    archived; an older version's archive is replaced, since the public page offers only
    the current files. A draft has none.
    """

    consultation = models.OneToOneField(
        Consultation, on_delete=models.CASCADE, related_name="archive"
    )
    version = models.PositiveIntegerField(_("version"))
    file = models.OneToOneField(
        "core.StoredFile", on_delete=models.PROTECT, related_name="+", verbose_name=_("file")
    )
    archived_at = models.DateTimeField(_("archived on"), auto_now=True)

    class Meta:
        verbose_name = _("consultation archive")
        verbose_name_plural = _("consultation archives")

    def __str__(self) -> str:
        return f"{self.consultation_id} v{self.version}"


# Alerts (saved searches of a person) live in their own module; imported here so that
# Django finds their models.
from .alerts_models import Alert, AlertDelivery, AlertFrequency  # noqa: E402, F401
