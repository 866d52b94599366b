"""Read-side queries of the companies context.

The company pages call them inside the request's ``scope(company=…)``; the operator's
back office through ``companies.crossings``. Filters stay explicit either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_scopes import scope

from mutualis.core import search
from mutualis.core.models import Organisation, OrganisationKind

from . import vault
from .models import (
    Company,
    CompanyInvitation,
    CompanyProfile,
    Establishment,
    JoinRequest,
    JoinRequestStatus,
    Representative,
    RepresentativeRole,
    VaultDocument,
    VaultDocumentState,
    VaultDocumentType,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from mutualis.core.models import StoredFile

RECENT_DECISIONS = 20
# Versions of one document shown in its history: a certificate renewed twice a year.
HISTORY_LIMIT = 50


def establishments(company: Company) -> QuerySet[Establishment]:
    return Establishment.objects.filter(company=company).order_by("-is_head_office", "siret")


def representatives(company: Company) -> QuerySet[Representative]:
    """Active ones first, then the former ones (kept for history)."""
    return (
        Representative.objects.filter(company=company)
        .select_related("user")
        .order_by("-is_active", "role", "user__email", "pk")
    )


def notified_emails(company_id: int, *also: str | None) -> list[str]:
    """Where a buyer's decision to a company goes (a receipt, an admission, an award
    letter): the addresses in ``also`` (the representative who deposited) and the
    company's active administrators', each once, sorted."""
    emails = {email for email in also if email}
    with scope(company=company_id):
        emails.update(
            email
            for email in Representative.objects.filter(
                company_id=company_id, role=RepresentativeRole.ADMIN, is_active=True
            ).values_list("user__email", flat=True)
            if email
        )
    return sorted(emails)


def representative(company: Company, pk: int) -> Representative | None:
    return Representative.objects.filter(company=company, pk=pk).select_related("user").first()


def pending_join_requests(company: Company) -> QuerySet[JoinRequest]:
    return (
        JoinRequest.objects.filter(company=company, status=JoinRequestStatus.PENDING)
        .select_related("user")
        .order_by("created_at", "pk")
    )


def decided_join_requests(company: Company) -> QuerySet[JoinRequest]:
    return (
        JoinRequest.objects.filter(company=company)
        .exclude(status=JoinRequestStatus.PENDING)
        .select_related("user", "decided_by")
        .order_by("-decided_at", "-pk")[:RECENT_DECISIONS]
    )


def join_request(company: Company, pk: int) -> JoinRequest | None:
    return JoinRequest.objects.filter(company=company, pk=pk).first()


def open_invitations(company: Company) -> QuerySet[CompanyInvitation]:
    """Invitations nobody accepted nor withdrew, expired ones included (to send again)."""
    return CompanyInvitation.objects.filter(
        company=company, accepted_at__isnull=True, revoked_at__isnull=True
    ).order_by("-created_at", "-pk")


def invitation(company: Company, pk: int) -> CompanyInvitation | None:
    return CompanyInvitation.objects.filter(company=company, pk=pk).first()


# --- Operator back office --------------------------------------------------------------


def search_companies(*, text: str = "", status: str = "") -> QuerySet[Company]:
    """Companies matching every filter, with their number of active representatives and
    of pending requests (counted in the same query, not per row)."""
    qs = Company.objects.all()
    if status:
        qs = qs.filter(status=status)
    for raw, folded in search.query_words(text):
        matches = search.contains_folded("search_name", folded)
        compact = raw.replace(".", "")
        if search.looks_like_code(compact):
            matches |= Q(siren=compact) | Q(
                pk__in=Establishment.objects.filter(siret=compact).values("company_id")
            )
        qs = qs.filter(matches)
    return qs.annotate(
        active_representatives=_count(
            Representative.objects.filter(company=OuterRef("pk"), is_active=True)
        ),
        pending_requests=_count(
            JoinRequest.objects.filter(company=OuterRef("pk"), status=JoinRequestStatus.PENDING)
        ),
    ).order_by("name", "pk")


def _count(rows: QuerySet) -> Coalesce:
    """A correlated count: the company-owned rows have no reverse relation to join."""
    counted = rows.order_by().values("company").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def company(pk: int) -> Company | None:
    return Company.objects.select_related("verified_by").filter(pk=pk).first()


def join_requests(company: Company) -> QuerySet[JoinRequest]:
    return (
        JoinRequest.objects.filter(company=company)
        .select_related("user", "decided_by")
        .order_by("-created_at", "-pk")
    )


# --- Procurement profile ---------------------------------------------------------------


def profile(company: Company) -> CompanyProfile | None:
    return (
        CompanyProfile.objects.filter(company=company)
        .select_related("main_departement")
        .prefetch_related("intervention_departements", "cpv_codes")
        .first()
    )


def departement_choices() -> list[tuple[str, str]]:
    """The territory's départements (public reference data), by INSEE code, labelled
    "21 – Côte-d'Or", for the profile's choices."""  # noqa: RUF002
    rows = (
        Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
        .exclude(insee_code="")
        .order_by("insee_code")
        .values_list("insee_code", "name")
    )
    return [(code, f"{code} \N{EN DASH} {name}") for code, name in rows]


# --- Business vault --------------------------------------------------------------------


@dataclass(frozen=True)
class VaultEntry:
    """A document as the vault shows it: with its validity on the day it is read."""

    document: VaultDocument
    validity: vault.Validity


@dataclass(frozen=True)
class VaultGroup:
    document_type: str
    label: str
    entries: list[VaultEntry]


def _entry(document: VaultDocument, *, today: Any, soon: int) -> VaultEntry:
    return VaultEntry(
        document=document,
        validity=vault.validity(document.valid_until, today=today, soon_days=soon),
    )


def vault_groups(company: Company) -> list[VaultGroup]:
    """The company's current documents grouped by type, in the order of the types, each
    type listed even when empty (the page offers to add one)."""
    today, soon = timezone.localdate(), vault.expiring_soon_days()
    documents = list(
        VaultDocument.objects.filter(company=company, state=VaultDocumentState.CURRENT)
        .select_related("file")
        .order_by("document_type", "-issued_on", "-pk")
    )
    return [
        VaultGroup(
            document_type=value,
            label=str(label),
            entries=[
                _entry(d, today=today, soon=soon) for d in documents if d.document_type == value
            ],
        )
        for value, label in VaultDocumentType.choices
    ]


def archived_vault_documents(company: Company) -> QuerySet[VaultDocument]:
    return (
        VaultDocument.objects.filter(company=company, state=VaultDocumentState.ARCHIVED)
        .select_related("file")
        .order_by("-archived_at", "-pk")
    )


def vault_document(company: Company, pk: int) -> VaultEntry | None:
    document = VaultDocument.objects.filter(company=company, pk=pk).select_related("file").first()
    if document is None:
        return None
    return _entry(document, today=timezone.localdate(), soon=vault.expiring_soon_days())


def vault_history(document: VaultDocument) -> list[VaultDocument]:
    """The versions this document replaced, newest first."""
    versions: list[VaultDocument] = []
    current = document
    while len(versions) < HISTORY_LIMIT:
        previous = (
            VaultDocument.objects.filter(company_id=document.company_id, replaced_by=current)
            .select_related("file")
            .first()
        )
        if previous is None:
            break
        versions.append(previous)
        current = previous
    return versions


def can_read_vault_file(request: HttpRequest, stored_file: StoredFile) -> bool:
    """A vault file is read by the active representatives of its company only, through
    the company's path (``/c/<siren>/files/…``): anywhere else there is no
    representation, and the download answers 404."""
    representation = getattr(request, "representation", None)
    if representation is None or not representation.is_active:
        return False
    return VaultDocument.objects.filter(
        company_id=representation.company_id, file_id=stored_file.pk
    ).exists()
