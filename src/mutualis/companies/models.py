"""Businesses: companies (SIREN), their establishments (SIRET) and their representatives.

A company is the tenant of its own rows, as an organisation is of its members' rows:
everything it owns derives from ``CompanyOwned`` and is read inside ``scope(company=…)``.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager

from mutualis.core import invitations
from mutualis.core.models import CpvCode
from mutualis.core.search import fold
from mutualis.core.validators import validate_siren


class CompanyStatus(models.TextChoices):
    UNVERIFIED = "unverified", pgettext_lazy("company status", "Unverified")
    VERIFIED = "verified", pgettext_lazy("company status", "Verified")
    SUSPENDED = "suspended", pgettext_lazy("company status", "Suspended")
    # Someone contests that its representatives may speak for it (a SIREN claimed by
    # the wrong people): operator staff resolve it (docs/operations.md, "SIREN contesté").
    DISPUTED = "disputed", pgettext_lazy("company status", "Disputed")


class Company(models.Model):
    """A business identified by its SIREN.

    It stays "unverified" until operator staff confirm that it exists and that its first
    representative may speak for it; buyers are shown that status.
    """

    siren = models.CharField(_("SIREN"), max_length=9, unique=True, validators=[validate_siren])
    name = models.CharField(_("name"), max_length=200)
    # ``name`` folded by ``core.search.fold`` (accent- and case-insensitive search).
    search_name = models.TextField(blank=True, default="", editable=False)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=CompanyStatus.choices,
        default=CompanyStatus.UNVERIFIED,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField(_("verified on"), null=True, blank=True)
    # Accounts are anonymised, never deleted; SET_NULL only guards a manual clean-up.
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CompanyStatus.values), name="company_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.siren})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = fold(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    @property
    def is_verified(self) -> bool:
        """Whether operator staff vouch for it now: wherever its name reaches someone
        outside it (an e-mail, an invitation page), an unverified one says so."""
        return self.status == CompanyStatus.VERIFIED


class CompanyOwned(models.Model):
    """A row that belongs to one company.

    Its default manager refuses every query outside a scope on the ``company`` dimension
    (django-scopes), the same mechanism as ``OrganisationOwned``; a row that concerns an
    organisation and a company at once (a bid) will carry both dimensions.
    """

    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager(company="company")

    class Meta:
        abstract = True


class Establishment(CompanyOwned):
    """A place of business of a company, identified by its SIRET (SIREN + NIC).

    The services alone write SIRETs, checked by python-stdnum and against the company's
    SIREN; no regular-expression constraint repeats it, since SQLite has REGEXP only
    inside Django's own connections (a restore through the sqlite3 shell would fail).
    """

    siret = models.CharField(_("SIRET"), max_length=14, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True, default="")
    address = models.TextField(_("address"), blank=True, default="")
    is_head_office = models.BooleanField(_("head office"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("establishment")
        verbose_name_plural = _("establishments")
        ordering = ["-is_head_office", "siret"]
        constraints = [
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(is_head_office=True),
                name="establishment_one_head_office",
            ),
        ]

    def __str__(self) -> str:
        return self.siret


class RepresentativeRole(models.TextChoices):
    ADMIN = "admin", pgettext_lazy("company representative", "Administrator")
    MEMBER = "member", pgettext_lazy("company representative", "Member")


class Representative(CompanyOwned):
    """A person who acts for a company. Removal deactivates the row: the company's audit
    chain still names it, and a later invitation reactivates it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="representations"
    )
    role = models.CharField(
        _("role"),
        max_length=10,
        choices=RepresentativeRole.choices,
        default=RepresentativeRole.MEMBER,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("representative")
        verbose_name_plural = _("representatives")
        constraints = [
            models.UniqueConstraint(fields=["user", "company"], name="representative_unique"),
            models.CheckConstraint(
                condition=Q(role__in=RepresentativeRole.values), name="representative_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@company:{self.company_id}"

    @property
    def is_admin(self) -> bool:
        return self.is_active and self.role == RepresentativeRole.ADMIN


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")


class JoinRequest(CompanyOwned):
    """A person who signed up with the SIRET of a company that already has representatives
    asks to join it; one of its administrators decides."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="company_join_requests"
    )
    siret = models.CharField(_("SIRET"), max_length=14)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=JoinRequestStatus.choices,
        default=JoinRequestStatus.PENDING,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("request to join a company")
        verbose_name_plural = _("requests to join a company")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JoinRequestStatus.values), name="join_request_status_valid"
            ),
            # One open request per person and company: a second sign-up shows the first.
            models.UniqueConstraint(
                fields=["user", "company"],
                condition=Q(status="pending"),
                name="join_request_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}→company:{self.company_id} ({self.status})"


class CompanyInvitation(CompanyOwned, invitations.Invitation):
    """An administrator's invitation of a colleague by e-mail, with a single-use link
    (the token, its digest and its lifetime: ``core.invitations``)."""

    role = models.CharField(
        _("role"),
        max_length=10,
        choices=RepresentativeRole.choices,
        default=RepresentativeRole.MEMBER,
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("colleague invitation")
        verbose_name_plural = _("colleague invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=RepresentativeRole.values), name="company_invitation_role"
            ),
            models.CheckConstraint(
                condition=invitations.not_both_condition(),
                name="company_invitation_accepted_or_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} to company:{self.company_id}"


# --- Procurement profile ---------------------------------------------------------------


class CompanySize(models.TextChoices):
    """The categories of the EU recommendation 2003/361/EC, which French law follows
    (décret n° 2008-1354, art. 3, for micro-enterprises and SMEs): headcount and, in
    either, annual turnover or balance-sheet total. The observatory counts SMEs."""

    MICRO = "micro", _("Micro-enterprise")
    SMALL = "small", _("Small enterprise")
    MEDIUM = "medium", _("Medium-sized enterprise")
    LARGE = "large", _("Large enterprise")


SME_SIZES = frozenset({CompanySize.MICRO, CompanySize.SMALL, CompanySize.MEDIUM})


class CompanyProfile(CompanyOwned):
    """What a company tells buyers and the purchasing observatory about itself.

    A row of its own, one per company, rather than columns of ``Company``: ``Company`` is
    read outside any scope (the sign-up, the tenancy middleware, the operator), while
    these facts are the company's own and are read inside its scope like its other rows.
    """

    company = models.OneToOneField(Company, on_delete=models.PROTECT, related_name="+")
    size = models.CharField(
        _("size"), max_length=10, choices=CompanySize.choices, blank=True, default=""
    )
    # Départements are the territory's organisations of that kind (imported from the
    # Etalab reference data): a code outside them is refused by the service.
    main_departement = models.ForeignKey(
        "core.Organisation",
        verbose_name=_("département of the main establishment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    intervention_departements = models.ManyToManyField(
        "core.Organisation",
        verbose_name=_("area of intervention"),
        blank=True,
        related_name="+",
    )
    activities = models.TextField(_("activities"), blank=True, default="")
    # The CPV codes of what the company does (the platform's CPV 2008 vocabulary, a
    # reference table of core): alerts suggest their prefixes, buyers read them.
    cpv_codes: models.ManyToManyField[CpvCode, Any] = models.ManyToManyField(
        CpvCode, verbose_name=_("CPV activity codes"), blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(size__in=["", *CompanySize.values]), name="company_profile_size_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"profile of company:{self.company_id}"

    @property
    def is_sme(self) -> bool | None:
        """Whether it is a small or medium-sized enterprise (micro ones included); None
        while its size is not stated."""
        if not self.size:
            return None
        return self.size in SME_SIZES


# --- Business vault --------------------------------------------------------------------


# The owner kind of the vault's files in the private file store (``core.files``): only the
# company's active representatives read them (``selectors.can_read_vault_file``).
VAULT_OWNER_KIND = "companies.vault_document"


class VaultDocumentType(models.TextChoices):
    KBIS = "kbis", _("Registration extract (Kbis)")
    URSSAF = "urssaf", _("URSSAF vigilance certificate")
    TAX = "tax", _("Tax compliance certificate")
    INSURANCE = "insurance", _("Insurance certificate")
    REFERENCES = "references", _("References")
    DC1 = "dc1", _("DC1 form (application letter)")
    DC2 = "dc2", _("DC2 form (candidate's declaration)")
    ESPD = "espd", _("ESPD (DUME)")
    OTHER = "other", _("Other document")


# Certificates that say how long they hold: the URSSAF certificate six months (Code de
# la sécurité sociale, art. D. 243-15), the tax certificate and the insurance its own
# period. The others (a Kbis extract, references, forms) state no end of validity.
END_DATE_REQUIRED = frozenset(
    {VaultDocumentType.URSSAF, VaultDocumentType.TAX, VaultDocumentType.INSURANCE}
)


class VaultDocumentState(models.TextChoices):
    CURRENT = "current", pgettext_lazy("vault document", "Current")
    REPLACED = "replaced", pgettext_lazy("vault document", "Replaced")
    ARCHIVED = "archived", pgettext_lazy("vault document", "Archived")


class VaultDocument(CompanyOwned):
    """One file of a company's vault, with its type and validity.

    A replacement is a new row: the one it replaces becomes ``replaced`` and points to
    it, so that the certificate handed in with an earlier bid stays as it was.
    """

    document_type = models.CharField(_("type"), max_length=12, choices=VaultDocumentType.choices)
    title = models.CharField(_("title"), max_length=200, blank=True, default="")
    issued_on = models.DateField(_("issue date"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    file = models.ForeignKey(
        "core.StoredFile", verbose_name=_("file"), on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=VaultDocumentState.choices,
        default=VaultDocumentState.CURRENT,
    )
    replaced_by = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Accounts are anonymised, never deleted; SET_NULL only guards a manual clean-up.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("vault document")
        verbose_name_plural = _("vault documents")
        ordering = ["document_type", "-issued_on", "-pk"]
        indexes = [models.Index(fields=["state", "valid_until"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(document_type__in=VaultDocumentType.values),
                name="vault_document_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=VaultDocumentState.values), name="vault_document_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("issued_on")),
                name="vault_document_ends_after_issue",
            ),
            models.CheckConstraint(
                condition=Q(state="replaced", replaced_by__isnull=False)
                | (~Q(state="replaced") & Q(replaced_by__isnull=True)),
                name="vault_document_replaced_points_to_next",
            ),
        ]

    def __str__(self) -> str:
        return f"vault document {self.pk} of company:{self.company_id}"

    def download_url(self, siren: str) -> str:
        """The file's address under the company's path (ADR 0002)."""
        return reverse(
            "company_files:download",
            kwargs={
                "company": siren,
                "file_id": self.file_id,
                "name": self.file.original_name,
            },
        )


class VaultReminder(CompanyOwned):
    """An expiry reminder sent for a document at one threshold (days before its end):
    the row is what keeps the job from sending it twice."""

    document = models.ForeignKey(VaultDocument, on_delete=models.CASCADE, related_name="+")
    threshold_days = models.PositiveSmallIntegerField(_("days before the end"))
    sent_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("vault reminder")
        verbose_name_plural = _("vault reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["document", "threshold_days"], name="vault_reminder_once_per_threshold"
            ),
        ]

    def __str__(self) -> str:
        return f"reminder {self.threshold_days} d for vault document {self.document_id}"
