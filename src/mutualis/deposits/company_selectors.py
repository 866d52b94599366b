"""What a company's deposit page reads, in the company's scope (``Deposit.for_company``):
its own deposits only, never another company's nor the buyer's other rows."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from .models import Deposit

# A page lists at most this many of a company's deposits on one consultation.
LIST_LIMIT = 200


def deposits_on(*, company_id: int, consultation_id: int) -> QuerySet[Deposit]:
    """The company's deposits on one consultation, newest first, with their file counts."""
    return (
        Deposit.for_company.filter(company_id=company_id, consultation_id=consultation_id)
        .select_related("lot")
        .annotate(file_count=Count("files"))
        .order_by("-started_at", "-pk")[:LIST_LIMIT]
    )
