"""What the operator back office reads, composed from the named crossings of the contexts
that own the data (``core``, ``identity``, ``companies``: their ``crossings.py``).

The back office disables no scope and queries no other context's tables itself: each page
reads through crossings that say what they read, so that tenant data nobody declared (a
business's bids, a member's acts before their transmission) stays out of its reach. Only
the platform's own catalogue and territory, which no member owns (départements, roles),
are read here directly, for the choices of the forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from mutualis.companies import crossings as company_crossings
from mutualis.core import crossings as core_crossings
from mutualis.core.models import AdhesionStatus, Organisation, OrganisationKind, OutgoingEmail
from mutualis.identity import crossings as identity_crossings
from mutualis.identity import selectors as identity_selectors

# --- Dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceCount:
    service: Any
    active: int
    suspended: int


@dataclass(frozen=True)
class DashboardCounts:
    organisations_by_adhesion: list[tuple[str, str, int]]  # (status, label, count)
    organisations_total: int
    subscriptions: list[ServiceCount]
    users_active: int
    users_total: int
    emails_by_status: dict[str, int]


def dashboard_counts() -> DashboardCounts:
    """The figures of the dashboard, in a handful of grouped queries."""
    figures = core_crossings.platform_figures()
    users_total, users_active = identity_crossings.account_figures()
    by_adhesion = figures.organisations_by_adhesion
    return DashboardCounts(
        organisations_by_adhesion=[
            (value, label, by_adhesion.get(value, 0)) for value, label in AdhesionStatus.choices
        ],
        organisations_total=sum(by_adhesion.values()),
        subscriptions=[
            ServiceCount(
                service=service,
                active=figures.subscriptions.get((service.code, True), 0),
                suspended=figures.subscriptions.get((service.code, False), 0),
            )
            for service in figures.services
        ],
        users_active=users_active,
        users_total=users_total,
        emails_by_status={
            value: figures.emails_by_status.get(value, 0) for value in OutgoingEmail.Status.values
        },
    )


# --- Catalogue and territory, for the forms' choices -----------------------------------


def departements() -> QuerySet[Organisation]:
    """The départements, public territory: a form's choices (a queryset, which a model
    choice field needs to check the posted value)."""
    return Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("insee_code")


def roles() -> list[Any]:
    return identity_selectors.list_roles()


# --- Whom an API client acts for ---------------------------------------------------------


@dataclass(frozen=True)
class ApiParty:
    """Whom an API client acts for, as the operator named it."""

    organisation_id: int | None
    company_id: int | None
    name: str


def api_party(reference: str) -> ApiParty | None:
    """The member organisation (by SIREN or address slug) or the company (by SIREN) that
    ``reference`` names; None when nothing does. Organisations first: a public body and
    a business never share a SIREN."""
    organisation = core_crossings.organisation_by_reference(reference)
    if organisation is not None:
        return ApiParty(organisation_id=organisation.pk, company_id=None, name=organisation.name)
    company = company_crossings.company_by_siren(reference)
    if company is not None:
        return ApiParty(organisation_id=None, company_id=company.pk, name=company.name)
    return None
