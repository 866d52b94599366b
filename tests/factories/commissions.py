"""Commissions set up through their services, as an administrator would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django_scopes import scope

from mutualis.commissions import meetings, services
from tests.factories.deposits_keys import commission_member


@dataclass
class Composed:
    commission: Any
    full: list[Any] = field(default_factory=list)  # CommissionMember, the first presides
    substitutes: list[Any] = field(default_factory=list)
    advisory: list[Any] = field(default_factory=list)

    @property
    def members(self) -> list[Any]:
        return [*self.full, *self.substitutes, *self.advisory]


def make_commission(
    admin: Any,
    *,
    name: str = "Commission d\u2019appel d\u2019offres",
    full: int = 3,
    substitutes: int = 1,
    advisory: int = 1,
    quorum_rule: str = "majority",
    prefix: str = "",
) -> Composed:
    """A commission of ``admin``'s organisation (an ``org_admin``) with new commission
    members: ``full`` full members (the first presides), ``substitutes``, and
    ``advisory`` full members with an advisory vote (the public accountant)."""
    organisation = admin.organisation
    prefix = prefix or f"{organisation.slug}-{name[:4].lower()}"
    with scope(organisation=admin.organisation_id):
        commission = services.create_commission(actor=admin, name=name, quorum_rule=quorum_rule)
    composed = Composed(commission)

    def seat(email: str, **kwargs: Any) -> Any:
        membership = commission_member(organisation, email)
        with scope(organisation=admin.organisation_id):
            return services.add_member(
                actor=admin, commission_id=commission.pk, membership_id=membership.pk, **kwargs
            )

    for i in range(full):
        composed.full.append(seat(f"{prefix}-full{i}@example.org", is_president=(i == 0)))
    for i in range(substitutes):
        composed.substitutes.append(seat(f"{prefix}-sub{i}@example.org", seat="substitute"))
    for i in range(advisory):
        composed.advisory.append(seat(f"{prefix}-adv{i}@example.org", vote="advisory"))
    return composed


def plan(
    buyer: Any,
    commission: Any,
    consultations: list[Any],
    *,
    starts_at: datetime | None = None,
    place: str = "Salle du conseil, mairie",
    video_url: str = "",
    duration: int = 120,
) -> Any:
    starts_at = starts_at or (timezone.now() + timedelta(days=7)).replace(second=0, microsecond=0)
    with scope(organisation=buyer.organisation_id):
        return meetings.plan_meeting(
            actor=buyer,
            commission_id=commission.pk,
            data=meetings.MeetingInput(starts_at, duration, place, video_url),
            consultation_ids=[c.pk for c in consultations],
        )
