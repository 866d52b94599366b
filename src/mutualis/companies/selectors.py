"""Read-side queries of the companies context.

The company pages call them inside the request's ``scope(company=…)``; the operator's
back office through ``companies.crossings``. Filters stay explicit either way.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from mutualis.core import search

from .models import (
    Company,
    CompanyInvitation,
    Establishment,
    JoinRequest,
    JoinRequestStatus,
    Representative,
)

RECENT_DECISIONS = 20


def establishments(company: Company) -> QuerySet[Establishment]:
    return Establishment.objects.filter(company=company).order_by("-is_head_office", "siret")


def representatives(company: Company) -> QuerySet[Representative]:
    """Active ones first, then the former ones (kept for history)."""
    return (
        Representative.objects.filter(company=company)
        .select_related("user")
        .order_by("-is_active", "role", "user__email", "pk")
    )


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
