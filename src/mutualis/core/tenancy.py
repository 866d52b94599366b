"""Tenancy: the current membership of a request and the scope it enters.

Every request of a signed-in agent runs inside ``scope(organisation=<id>)`` of its current
membership; anonymous requests and people without a membership run in a scope with no
dimension, where any query on an organisation-owned table fails loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django_scopes import scope

from . import crossings

if TYPE_CHECKING:
    from mutualis.identity.models import Membership

SESSION_KEY = "mutualis_membership_id"


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership the person acts through: the one chosen in the session, else the
    first active one."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = crossings.memberships_of_user(user)
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.pk == chosen:
            return membership
    return memberships[0] if memberships else None


def choose_membership(request: HttpRequest, membership_id: int) -> Membership | None:
    """Switch the current organisation; None when the person has no such membership."""
    for membership in crossings.memberships_of_user(request.user):
        if membership.pk == membership_id:
            request.session[SESSION_KEY] = membership.pk
            return membership
    return None


class TenancyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = current_membership(request)
        request.membership = membership  # type: ignore[attr-defined]
        request.memberships = (  # type: ignore[attr-defined]
            crossings.memberships_of_user(request.user) if membership else []
        )
        if membership is None:
            with scope():
                return self.get_response(request)
        with scope(organisation=membership.organisation_id):
            return self.get_response(request)
