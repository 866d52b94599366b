"""Read-side queries of the platform core, inside the current scope."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator

from .models import AuditEvent, Subscription


def subscribed_services(membership: Any) -> list[Any]:
    return [
        s.service
        for s in Subscription.objects.filter(organisation=membership.organisation, is_active=True)
        .select_related("service")
        .order_by("service__position")
    ]


def subscription_for(membership: Any, code: str) -> Subscription | None:
    return (
        Subscription.objects.filter(
            organisation=membership.organisation, service_id=code, is_active=True
        )
        .select_related("service")
        .first()
    )


def audit_events_page(*, organisation: Any, action: str = "", page: Any = 1) -> Page:
    events = AuditEvent.objects.filter(organisation=organisation).order_by("-sequence")
    if action:
        events = events.filter(action__startswith=action)
    return Paginator(events, 50).get_page(page)
