"""Rights of the current membership: roles, operator staff, subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .errors import NoMembership


def require_role(membership: Any, *codes: str) -> None:
    """Refuse unless the membership carries one of the roles."""
    if membership is None or not membership.is_active:
        raise NoMembership()
    if not membership.role_codes() & set(codes):
        raise PermissionDenied


def is_operator_staff(membership: Any) -> bool:
    return bool(membership and membership.is_active and membership.organisation.is_operator)


def require_operator(membership: Any) -> None:
    if not is_operator_staff(membership):
        raise PermissionDenied


def _guard(check: Callable[[Any], None]) -> Callable[[Callable[..., HttpResponse]], Any]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            check(getattr(request, "membership", None))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


operator_required = _guard(require_operator)


def membership_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def check(membership: Any) -> None:
        if membership is None:
            raise PermissionDenied

    return _guard(check)(view)


def role_required(*codes: str) -> Callable[[Callable[..., HttpResponse]], Any]:
    return _guard(lambda membership: require_role(membership, *codes))
