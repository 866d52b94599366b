"""Who may open the operator back office: operator staff, acting through their
membership of the operator's organisation."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse

from mutualis.core.permissions import is_operator_staff
from mutualis.identity import crossings as identity_crossings


def operator_membership(user: Any) -> Any:
    """The person's active membership of the operator's organisation, if any."""
    for membership in identity_crossings.memberships_of_user(user):
        if is_operator_staff(membership):
            return membership
    return None


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Operator staff only: anonymous people go to the login page, others get 404. The
    view acts through the operator membership (``request.membership``)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = operator_membership(request.user)
        if membership is None:
            raise Http404
        request.membership = membership  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapped
