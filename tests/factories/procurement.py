"""Consultations set up through the procurement services, as a buyer would."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.core.models import Service, Subscription
from mutualis.procurement import services
from mutualis.procurement.services import ConsultationInput, LotInput


def subscribe_to_procurement(organisation: Any, *, active: bool = True) -> Subscription:
    with scopes_disabled():
        subscription, _ = Subscription.objects.update_or_create(
            organisation=organisation,
            service=Service.objects.get(code="procurement"),
            defaults={"since": timezone.localdate(), "is_active": active},
        )
    return subscription


def consultation_input(*, now: datetime | None = None, **overrides: Any) -> ConsultationInput:
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    values: dict[str, Any] = {
        "reference": "2027-001",
        "title": "Réfection de la toiture de l'église",
        "object": "Travaux de couverture et de charpente.",
        "procedure": "adapted",
        "category": "works",
        "main_cpv": "45261000",
        "questions_deadline": now + timedelta(days=10),
        "response_deadline": now + timedelta(days=20),
        "contact": "Service des marchés, marches@commune-a.example",
        "estimated_value": Decimal("120000.00"),
    }
    values.update(overrides)
    return ConsultationInput(**values)


def make_consultation(
    actor: Any,
    *,
    lots: int = 0,
    criteria: tuple[tuple[str, int], ...] = (("Prix", 40), ("Valeur technique", 60)),
    publish: bool = False,
    **overrides: Any,
) -> Any:
    """A draft of ``actor``'s organisation (published when ``publish``), through the
    services, with ``lots`` lots and the criteria given."""
    with scope(organisation=actor.organisation_id):
        consultation = services.create_consultation(
            actor=actor, data=consultation_input(**overrides)
        )
        for number in range(1, lots + 1):
            services.add_lot(
                actor=actor,
                consultation_id=consultation.pk,
                data=LotInput(number=number, title=f"Lot {number}", cpv_codes=["45261000"]),
            )
        for label, weight in criteria:
            services.add_criterion(
                actor=actor, consultation_id=consultation.pk, label=label, weight=weight
            )
        if publish:
            consultation = services.publish_consultation(
                actor=actor, consultation_id=consultation.pk
            )
    return consultation
