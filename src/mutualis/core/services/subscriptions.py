"""Subscriptions of members to the services of the catalogue, changed by operator staff.

The organisation's row is the lock that serialises the subscription changes of one
member, in every use case here and in ``organisations.update_organisation``. Each use case
acts on one member's subscriptions, in that member's scope: the operator's reach is the
member named, not every member.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit, errors
from mutualis.core.models import AdhesionStatus, Organisation, Service, Subscription
from mutualis.core.permissions import require_operator


def _locked_subscription(organisation: Organisation, service_code: str) -> Subscription:
    subscription = (
        Subscription.objects.select_for_update()
        .filter(organisation=organisation, service_id=service_code)
        .first()
    )
    if subscription is None:
        raise errors.SubscriptionNotFound()
    return subscription


def suspend_all_subscriptions(
    *, actor: Any, organisation: Organisation, reason: str, context: Mapping[str, Any]
) -> None:
    """Suspend a member's active subscriptions, one event each: a step of a use case
    that already holds the organisation's lock, never a transaction of its own."""
    subscriptions = (
        Subscription.objects.select_for_update()
        .filter(organisation=organisation, is_active=True)
        .order_by("pk")
    )
    for subscription in subscriptions:
        subscription.is_active = False
        subscription.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.suspended",
            target=subscription,
            payload={"service": subscription.service_id, "reason": reason},
            **context,
        )


@transaction.atomic(durable=True)
def subscribe(
    *,
    actor: Any,
    organisation_id: int,
    service_code: str,
    request_context: Mapping[str, Any] | None = None,
) -> Subscription:
    """Subscribe a member to a service of the catalogue, from today."""
    require_operator(actor)
    with scope(organisation=organisation_id):
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        service = Service.objects.get(code=service_code)
        if organisation.adhesion_status != AdhesionStatus.MEMBER:
            raise errors.NotAMember()
        if not service.is_available:
            raise errors.ServiceUnavailable()
        if Subscription.objects.filter(organisation=organisation, service=service).exists():
            raise errors.AlreadySubscribed()
        subscription = Subscription.objects.create(
            organisation=organisation, service=service, since=timezone.localdate()
        )
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.created",
            target=subscription,
            payload={"service": service.code, "since": subscription.since.isoformat()},
            **dict(request_context or {}),
        )
    return subscription


@transaction.atomic(durable=True)
def suspend_subscription(
    *,
    actor: Any,
    organisation_id: int,
    service_code: str,
    request_context: Mapping[str, Any] | None = None,
) -> Subscription:
    """Suspend a member's subscription: the service disappears from its menus."""
    require_operator(actor)
    with scope(organisation=organisation_id):
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        subscription = _locked_subscription(organisation, service_code)
        if not subscription.is_active:
            raise errors.SubscriptionNotActive()
        subscription.is_active = False
        subscription.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.suspended",
            target=subscription,
            payload={"service": service_code, "reason": "operator"},
            **dict(request_context or {}),
        )
    return subscription


@transaction.atomic(durable=True)
def resume_subscription(
    *,
    actor: Any,
    organisation_id: int,
    service_code: str,
    request_context: Mapping[str, Any] | None = None,
) -> Subscription:
    """Resume a suspended subscription (the member keeps its original start date)."""
    require_operator(actor)
    with scope(organisation=organisation_id):
        organisation = Organisation.objects.select_for_update().get(pk=organisation_id)
        subscription = _locked_subscription(organisation, service_code)
        if subscription.is_active:
            raise errors.SubscriptionAlreadyActive()
        if organisation.adhesion_status != AdhesionStatus.MEMBER:
            raise errors.NotAMember()
        subscription.is_active = True
        subscription.save(update_fields=["is_active"])
        audit.record(
            actor=actor,
            organisation=organisation,
            action="subscription.resumed",
            target=subscription,
            payload={"service": service_code},
            **dict(request_context or {}),
        )
    return subscription
