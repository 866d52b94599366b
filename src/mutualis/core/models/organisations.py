from decimal import Decimal
from typing import Any

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from mutualis.core.search import fold
from mutualis.core.validators import validate_siren

from .tenancy import OrganisationOwned

colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB, for example #1d4e89.")
)


class OrganisationKind(models.TextChoices):
    OPERATOR = "operator", _("Operator (the grouping)")
    REGION = "region", _("Région")
    DEPARTEMENT = "departement", _("Département")
    COMMUNE = "commune", _("Commune")
    EPCI_CC = "epci_cc", _("Communauté de communes")
    EPCI_CA = "epci_ca", _("Communauté d'agglomération")
    EPCI_CU = "epci_cu", _("Communauté urbaine")
    EPCI_METRO = "epci_metro", _("Métropole")
    METROPOLE_LYON = "metropole_lyon", _("Métropole de Lyon")
    SYNDICAT = "syndicat", _("Syndicat")
    CCAS = "ccas", _("CCAS")
    SDIS = "sdis", _("SDIS (fire and rescue service)")
    OPH = "oph", _("Office public de l'habitat")
    HOSPITAL = "hospital", _("Hospital")
    SCHOOL = "school", _("School")
    OTHER_PUBLIC = "other_public", _("Other public body")
    ASSOCIATION = "association", _("Association of general interest")

    @classmethod
    def epci_kinds(cls) -> list[str]:
        return [cls.EPCI_CC, cls.EPCI_CA, cls.EPCI_CU, cls.EPCI_METRO, cls.METROPOLE_LYON]


# Owner kind of the stored files that are members' logos (mutualis.core.files).
LOGO_OWNER_KIND = "core.logo"

# Kinds whose upstream data (Etalab) always carries a SIREN.
KINDS_REQUIRING_SIREN = [OrganisationKind.COMMUNE, *OrganisationKind.epci_kinds()]


class AdhesionStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    MEMBER = "member", _("Member")
    FORMER = "former", _("Former member")


class FeeCategory(models.Model):
    """A category of the grouping's annual membership fee (set by its general assembly)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=200)
    annual_fee = models.DecimalField(
        _("annual fee (EUR)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        verbose_name = _("fee category")
        verbose_name_plural = _("fee categories")
        ordering = ["annual_fee", "code"]

    def __str__(self) -> str:
        return self.label


class Organisation(models.Model):
    """A public body of the territory: a member of the grouping, or a prospect."""

    # Natural key of the import: "commune:21231", "epci:200000172", "departement:21",
    # "region:27"; empty for organisations the operator creates by hand.
    source_key = models.CharField(max_length=40, blank=True, default="")
    siren = models.CharField(
        _("SIREN"), max_length=9, blank=True, default="", validators=[validate_siren]
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    insee_code = models.CharField(_("INSEE code"), max_length=5, blank=True, default="")
    # The INSEE code of its arrondissement (département code and one digit, "212"), from
    # the territory files: a commune's own, a département's chef-lieu's, an EPCI's when
    # all its communes share one. The @ctes envelope names it.
    arrondissement = models.CharField(_("arrondissement"), max_length=4, blank=True, default="")
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    slug = models.SlugField(_("public address"), max_length=120, unique=True)
    # ``name`` folded by ``core.search.fold``: written by ``save()`` and by the territory
    # import (its bulk writes bypass ``save()``); PostgreSQL indexes it by trigrams.
    search_name = models.TextField(blank=True, default="", editable=False)

    region = models.ForeignKey(
        "self",
        verbose_name=_("région"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.REGION},
    )
    departement = models.ForeignKey(
        "self",
        verbose_name=_("département"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.DEPARTEMENT},
    )
    epci = models.ForeignKey(
        "self",
        verbose_name=_("grouping of communes (EPCI)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member_communes",
    )
    # An EPCI may span several départements (and régions): derived from its communes.
    departements_spanned = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="epcis_spanning",
        verbose_name=_("départements spanned"),
    )

    adhesion_status = models.CharField(
        _("adhesion"),
        max_length=10,
        choices=AdhesionStatus.choices,
        default=AdhesionStatus.PROSPECT,
    )
    adhesion_since = models.DateField(_("member since"), null=True, blank=True)
    fee_category = models.ForeignKey(
        FeeCategory,
        verbose_name=_("fee category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )

    # A PNG or JPEG image, checked when uploaded, served by the file store's download view.
    logo = models.ForeignKey(
        "core.StoredFile",
        verbose_name=_("logo"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    primary_colour = models.CharField(
        _("primary colour"), max_length=7, default="#1d4e89", validators=[colour_validator]
    )
    secondary_colour = models.CharField(
        _("secondary colour"), max_length=7, default="#f2f5f9", validators=[colour_validator]
    )

    # Contact data, completed by the operator through ``core.services.organisations``
    # (which checks them) and shown on the public directory page. The SIRET names the
    # main establishment, as procurement data (DECP) and transmissions (@ctes) need it.
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, default="")
    street = models.CharField(_("street address"), max_length=200, blank=True, default="")
    street_extra = models.CharField(_("address complement"), max_length=200, blank=True, default="")
    postcode = models.CharField(_("postcode"), max_length=5, blank=True, default="")
    city = models.CharField(_("city"), max_length=100, blank=True, default="")
    contact_email = models.EmailField(_("contact e-mail address"), blank=True, default="")
    # Digits only, with a leading "+" for an international number: "0380123456".
    phone = models.CharField(_("telephone"), max_length=16, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["siren"], condition=~Q(siren=""), name="organisation_siren_unique"
            ),
            models.UniqueConstraint(
                fields=["source_key"],
                condition=~Q(source_key=""),
                name="organisation_source_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(adhesion_status__in=AdhesionStatus.values),
                name="organisation_adhesion_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=KINDS_REQUIRING_SIREN) | ~Q(siren=""),
                name="organisation_siren_required_for_communes_and_epci",
            ),
            # The main establishment is one of the organisation's own: its SIRET starts
            # with the SIREN. The check digits are python-stdnum's business (services).
            models.CheckConstraint(
                condition=Q(siret="") | Q(siren="") | Q(siret__startswith=F("siren")),
                name="organisation_siret_of_its_siren",
            ),
        ]
        # Each filter of the directory with the list's order (name, pk) after it, so that
        # a page is read in order from an index and no list sorts the whole table.
        indexes = [
            models.Index(fields=["name", "id"], name="organisation_name_order"),
            models.Index(fields=["kind", "name", "id"], name="organisation_kind_order"),
            models.Index(
                fields=["adhesion_status", "name", "id"], name="organisation_adhesion_order"
            ),
            models.Index(fields=["insee_code"]),
            # The API's change feed reads in this order from a position (core.api.pagination).
            models.Index(fields=["updated_at", "id"], name="organisation_changes"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_name = fold(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    @property
    def is_operator(self) -> bool:
        return self.kind == OrganisationKind.OPERATOR

    @property
    def is_epci(self) -> bool:
        return self.kind in OrganisationKind.epci_kinds()

    @property
    def has_address(self) -> bool:
        return bool(self.street or self.street_extra or self.postcode or self.city)

    @property
    def phone_display(self) -> str:
        """A French number in pairs of digits ("03 80 12 34 56"), others as stored."""
        if len(self.phone) == 10 and self.phone.isdigit():
            return " ".join(self.phone[i : i + 2] for i in range(0, 10, 2))
        return self.phone


class Service(models.Model):
    """A service of the platform's catalogue (procurement first) that members subscribe to."""

    code = models.SlugField(_("code"), max_length=40, primary_key=True)
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(default=100)
    is_available = models.BooleanField(_("open to subscriptions"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Subscription(OrganisationOwned):
    """A member's subscription to a service: menus, permissions and public pages follow it."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)
    since = models.DateField(_("since"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "service"], name="subscription_unique")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} → {self.service_id}"
