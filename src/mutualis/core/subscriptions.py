"""Subscriptions switch services on and off for a member.

A service's pages and writes require an active subscription of the acting organisation:
``subscription_required(code)`` guards a view, ``require_subscription`` guards a service
(the check that counts, since an API or a job may call it too). Suspending a subscription
changes nothing stored: what the member published stays public, what others are entitled
to (a consultation open for responses, a transmission under way) goes on; only new
actions of the member stop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import ServiceNotSubscribed
from .models import Service, Subscription

View = Callable[..., HttpResponse]


def has_subscription(organisation_id: int, code: str) -> bool:
    """Whether the organisation subscribes to the service now (inside its scope)."""
    return Subscription.objects.filter(
        organisation_id=organisation_id, service_id=code, is_active=True
    ).exists()


def require_subscription(organisation_id: int, code: str) -> None:
    """Refuse a new action of a member that does not subscribe to the service now."""
    if not has_subscription(organisation_id, code):
        raise ServiceNotSubscribed()


def subscription_required(code: str) -> Callable[[View], View]:
    """A page of a service, for an organisation that subscribes to it: otherwise a page
    says why, and whom to contact (the tenancy and role guards run first)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is not None and not has_subscription(membership.organisation_id, code):
                return service_unavailable(request, code)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def service_unavailable(request: HttpRequest, code: str) -> HttpResponse:
    service = Service.objects.filter(code=code).first()
    subscription = Subscription.objects.filter(
        organisation_id=request.membership.organisation_id,  # type: ignore[attr-defined]
        service_id=code,
    ).first()
    return render(
        request,
        "core/service_unavailable.html",
        {
            "service": service,
            "suspended": subscription is not None and not subscription.is_active,
            "contact": settings.MUTUALIS_OPERATOR_CONTACT,
        },
        status=403,
    )
