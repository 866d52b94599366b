"""What a buyer reads of its own integrity indicators, inside its own scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .indicators import Indicator
from .models import BuyerIndicator, Computation, ProcedureFlag

# Who reads a buyer's indicators: its buyers and its administrators.
READERS = ("buyer", "org_admin")


def can_read(membership: Any) -> bool:
    return bool(
        membership is not None and membership.is_active and membership.role_codes() & set(READERS)
    )


def indicators_of(*, organisation_id: int) -> dict[str, BuyerIndicator]:
    rows = BuyerIndicator.objects.filter(organisation_id=organisation_id)
    return {row.indicator: row for row in rows}


def flags_of(*, organisation_id: int, indicator: str | None = None) -> QuerySet[ProcedureFlag]:
    """The flags of the buyer's procedures, newest procedure first."""
    flags = ProcedureFlag.objects.filter(organisation_id=organisation_id)
    if indicator in Indicator.values:
        flags = flags.filter(indicator=indicator)
    return flags.select_related("consultation", "lot").order_by(
        "-consultation__published_at", "consultation_id", "lot__number", "indicator", "pk"
    )


def flags_of_consultation(*, organisation_id: int, consultation_id: int) -> list[ProcedureFlag]:
    return list(
        ProcedureFlag.objects.filter(
            organisation_id=organisation_id, consultation_id=consultation_id
        )
        .select_related("lot")
        .order_by("lot__number", "indicator", "pk")
    )


def last_computation() -> Computation | None:
    """The last run of the job (a platform row, no member's)."""
    return Computation.objects.order_by("-finished_at", "-pk").first()
