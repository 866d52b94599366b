"""Read-side queries of the procurement context, for the buyer's pages: called inside the
request's ``scope(organisation=…)``, with the organisation filter stated anyway."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import AwardCriterion, Consultation, Lot


def consultations_of(*, organisation_id: int) -> QuerySet[Consultation]:
    return Consultation.objects.filter(organisation_id=organisation_id).order_by(
        "-created_at", "-pk"
    )


def consultation(*, organisation_id: int, consultation_id: int) -> Consultation | None:
    """One consultation of the member with its lots and criteria, or None (404)."""
    return (
        Consultation.objects.filter(organisation_id=organisation_id, pk=consultation_id)
        .select_related("organisation")
        .prefetch_related(
            Prefetch("lots", queryset=Lot.objects.order_by("number")),
            Prefetch("criteria", queryset=AwardCriterion.objects.order_by("position", "pk")),
        )
        .first()
    )
