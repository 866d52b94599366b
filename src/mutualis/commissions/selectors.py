"""Read-side queries of the commissions context: called inside the request's
``scope(organisation=…)`` (or a job's), with the organisation filter stated anyway."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from mutualis.identity.models import Membership
from mutualis.procurement.models import Consultation, State

from .models import (
    AgendaItem,
    Attendance,
    Commission,
    CommissionMember,
    ConsultationCommission,
    ExternalAttendance,
    ExternalMember,
    Meeting,
)

COMMISSION_MEMBER = "commission_member"


def commissions_of(*, organisation_id: int) -> QuerySet[Commission]:
    return Commission.objects.filter(organisation_id=organisation_id).order_by("name", "pk")


def commission(*, organisation_id: int, commission_id: int) -> Commission | None:
    return Commission.objects.filter(organisation_id=organisation_id, pk=commission_id).first()


def current_members(*, organisation_id: int, commission_id: int) -> list[CommissionMember]:
    """The commission's members now: the president first, then full members, then
    substitutes, each by name."""
    return list(
        CommissionMember.objects.filter(
            organisation_id=organisation_id, commission_id=commission_id, removed_at__isnull=True
        )
        .select_related("membership__user")
        .order_by(
            "-is_president",
            "seat",
            "membership__user__last_name",
            "membership__user__first_name",
            "membership__user__email",
            "pk",
        )
    )


def current_externals(*, organisation_id: int, commission_id: int) -> list[ExternalMember]:
    """The commission's advisory attendees from outside, now, by name."""
    return list(
        ExternalMember.objects.filter(
            organisation_id=organisation_id, commission_id=commission_id, removed_at__isnull=True
        ).order_by("name", "pk")
    )


def candidates(*, organisation_id: int) -> QuerySet[Membership]:
    """The agents who may sit on a commission: active, with the commission member role."""
    return (
        Membership.objects.filter(
            organisation_id=organisation_id, is_active=True, roles__code=COMMISSION_MEMBER
        )
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__email", "pk")
        .distinct()
    )


def commission_of_consultation(*, organisation_id: int, consultation_id: int) -> Commission | None:
    row = (
        ConsultationCommission.objects.filter(
            organisation_id=organisation_id, consultation_id=consultation_id
        )
        .select_related("commission")
        .first()
    )
    return row.commission if row is not None else None


def member_user_ids(*, organisation_id: int, consultation_id: int) -> Any:
    """The people the opening-key holders of a consultation are drawn from, when it has
    a commission: its current members whose membership is active and still carries the
    commission member role (a ``user_id`` values queryset, for ``user_id__in``). None
    when the consultation has no commission: the organisation's commission members
    then (``deposits.keys``)."""
    commission_id = (
        ConsultationCommission.objects.filter(
            organisation_id=organisation_id, consultation_id=consultation_id
        )
        .values_list("commission_id", flat=True)
        .first()
    )
    if commission_id is None:
        return None
    return Membership.objects.filter(
        organisation_id=organisation_id,
        is_active=True,
        roles__code=COMMISSION_MEMBER,
        pk__in=CommissionMember.objects.filter(
            organisation_id=organisation_id, commission_id=commission_id, removed_at__isnull=True
        ).values("membership_id"),
    ).values("user_id")


def agenda_candidates(
    *, organisation_id: int, commission_id: int, limit: int
) -> list[Consultation]:
    """The member's latest consultations a meeting of this commission may examine: not
    cancelled, and not examined by another commission."""
    elsewhere = (
        ConsultationCommission.objects.filter(organisation_id=organisation_id)
        .exclude(commission_id=commission_id)
        .values("consultation_id")
    )
    return list(
        Consultation.objects.filter(organisation_id=organisation_id)
        .exclude(state=State.CANCELLED)
        .exclude(pk__in=elsewhere)
        .order_by("-created_at", "-pk")[:limit]
    )


def meetings_of(*, organisation_id: int, commission_id: int) -> QuerySet[Meeting]:
    return Meeting.objects.filter(
        organisation_id=organisation_id, commission_id=commission_id
    ).order_by("-starts_at", "-pk")


def meetings_of_consultation(*, organisation_id: int, consultation_id: int) -> QuerySet[Meeting]:
    return (
        Meeting.objects.filter(
            organisation_id=organisation_id,
            items__consultation_id=consultation_id,
        )
        .select_related("commission")
        .order_by("starts_at", "pk")
        .distinct()
    )


def meeting(*, organisation_id: int, meeting_id: int) -> Meeting | None:
    return (
        Meeting.objects.filter(organisation_id=organisation_id, pk=meeting_id)
        .select_related("commission", "minutes", "reconvened_from")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=AgendaItem.objects.select_related("consultation").order_by("position"),
            ),
            Prefetch(
                "attendance",
                queryset=Attendance.objects.select_related(
                    "member__membership__user", "replaced_by__membership__user"
                ),
            ),
            Prefetch(
                "external_attendance",
                queryset=ExternalAttendance.objects.select_related("external").order_by(
                    "external__name", "external__pk"
                ),
            ),
        )
        .first()
    )


def is_member(*, organisation_id: int, commission_id: int, membership_id: int) -> bool:
    return CommissionMember.objects.filter(
        organisation_id=organisation_id,
        commission_id=commission_id,
        membership_id=membership_id,
        removed_at__isnull=True,
    ).exists()
