"""Tenancy: the current membership of a request and the scope it enters.

Every request of a signed-in agent runs inside ``scope(organisation=<id>)`` of its current
membership; anonymous requests and people without a membership run in a scope with no
dimension, where any query on an organisation-owned table fails loudly.

A business representative's request runs inside ``scope(company=<id>)`` of the company
they act for, with no organisation dimension. A person who is both an agent and a
representative acts for one of them at a time: their organisation unless they chose a
company in the switcher (``choose_representation``); choosing an organisation again
(``choose_membership``) leaves the company.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from django_scopes import scope

from . import crossings

if TYPE_CHECKING:
    from mutualis.companies.models import Representative
    from mutualis.identity.models import Membership

SESSION_KEY = "mutualis_membership_id"
REPRESENTATION_SESSION_KEY = "mutualis_representation_id"


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
            request.session.pop(REPRESENTATION_SESSION_KEY, None)
            return membership
    return None


def current_representation(request: HttpRequest) -> Representative | None:
    """The company representation the person acts through, if they act for a company:
    the one chosen in the session; else the first one, for a person who is no agent."""
    user = request.user
    if not user.is_authenticated:
        return None
    representations = crossings.representations_of_user(user)
    if not representations:
        return None
    chosen = request.session.get(REPRESENTATION_SESSION_KEY)
    for representation in representations:
        if representation.pk == chosen:
            return representation
    # An agent acts for their organisation until they choose a company.
    if crossings.memberships_of_user(user):
        return None
    return representations[0]


def choose_representation(request: HttpRequest, representation_id: int) -> Representative | None:
    """Act for a company from now on; None when the person does not represent it. Reads
    the representations afresh: the person may have joined the company in this request."""
    for representation in crossings.representations_of_user(request.user, refresh=True):
        if representation.pk == representation_id:
            request.session[REPRESENTATION_SESSION_KEY] = representation.pk
            return representation
    return None


class TenancyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        representation = current_representation(request)
        request.representation = representation  # type: ignore[attr-defined]
        request.representations = (  # type: ignore[attr-defined]
            crossings.representations_of_user(request.user) if request.user.is_authenticated else []
        )
        if representation is not None:
            # Acting for a company: no organisation dimension at all, so that a query on
            # an organisation's rows fails loudly instead of reading a stale membership.
            request.membership = None  # type: ignore[attr-defined]
            request.memberships = crossings.memberships_of_user(request.user)  # type: ignore[attr-defined]
            with scope(company=representation.company_id):
                return self.get_response(request)
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
