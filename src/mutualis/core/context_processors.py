from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import selectors


def platform(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "platform_name": settings.MUTUALIS_PLATFORM_NAME,
        "current_membership": membership,
        "memberships": getattr(request, "memberships", []),
        "is_operator_staff": bool(membership and membership.organisation.is_operator),
        # Lazy: no query unless the menu is drawn.
        "subscribed_services": (
            SimpleLazyObject(lambda: selectors.subscribed_services(membership))
            if membership
            else []
        ),
    }
