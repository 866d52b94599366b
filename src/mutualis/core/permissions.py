"""Rights of the acting membership: roles, operator staff, subscriptions.

One convention for pages: a person who may not see a tenant page gets 404, exactly as for
an object that does not exist, so that nobody learns what another member holds. Services
raise ``PermissionDenied`` (or a context's error) when called without the right; views
never rely on it alone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from .errors import NoMembership

View = Callable[..., HttpResponse]


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


def role_required(*codes: str) -> Callable[[View], View]:
    """A page of the organisation in the path, for its agents holding one of the roles
    (any agent when no role is given); anyone else gets 404."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None or not membership.is_active:
                raise Http404
            if codes and not membership.role_codes() & set(codes):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


membership_required = role_required()
