"""Read-side queries of the operator back office.

They read every member's rows: callers evaluate them inside ``crossings.operator_view()``
(every back-office view does, after checking that the person is operator staff).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from mutualis.companies.models import Company
from mutualis.core import audit, search
from mutualis.core.models import (
    AdhesionStatus,
    AuditEvent,
    AuditSubject,
    Organisation,
    OrganisationKind,
    OutgoingEmail,
    Service,
    Subscription,
)
from mutualis.identity.models import Membership, Role, User

# --- Dashboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceCount:
    service: Service
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
    by_adhesion = dict(
        Organisation.objects.order_by()
        .values("adhesion_status")
        .annotate(n=Count("pk"))
        .values_list("adhesion_status", "n")
    )
    subscription_counts: dict[tuple[str, bool], int] = {
        (service_id, is_active): n
        for service_id, is_active, n in Subscription.objects.order_by()
        .values("service_id", "is_active")
        .annotate(n=Count("pk"))
        .values_list("service_id", "is_active", "n")
    }
    users = User.objects.aggregate(total=Count("pk"), active=Count("pk", filter=Q(is_active=True)))
    emails = dict(
        OutgoingEmail.objects.order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return DashboardCounts(
        organisations_by_adhesion=[
            (value, label, by_adhesion.get(value, 0)) for value, label in AdhesionStatus.choices
        ],
        organisations_total=sum(by_adhesion.values()),
        subscriptions=[
            ServiceCount(
                service=service,
                active=subscription_counts.get((service.code, True), 0),
                suspended=subscription_counts.get((service.code, False), 0),
            )
            for service in Service.objects.order_by("position", "code")
        ],
        users_active=users["active"],
        users_total=users["total"],
        emails_by_status={value: emails.get(value, 0) for value in OutgoingEmail.Status.values},
    )


# --- Organisations ---------------------------------------------------------------------


def search_organisations(
    *, text: str = "", kind: str = "", adhesion: str = "", departement: str = ""
) -> QuerySet[Organisation]:
    """Organisations matching every filter; ``departement`` is an INSEE code ("21").

    The page shows each one's département and fee category: joined, not fetched per row.
    """
    qs = Organisation.objects.select_related("departement", "fee_category")
    if kind:
        qs = qs.filter(kind=kind)
    if adhesion:
        qs = qs.filter(adhesion_status=adhesion)
    if departement:
        # An EPCI may span several départements: it belongs to each of them. A subquery
        # rather than a join keeps one row per organisation without DISTINCT.
        spanning = Organisation.objects.filter(departements_spanned__insee_code=departement).values(
            "pk"
        )
        qs = qs.filter(
            Q(departement__insee_code=departement)
            | Q(kind=OrganisationKind.DEPARTEMENT, insee_code=departement)
            | Q(pk__in=spanning)
        )
    for raw, folded in search.query_words(text):
        matches = search.contains_folded("search_name", folded) | Q(slug=raw)
        if search.looks_like_code(raw):
            matches |= Q(siren=raw) | Q(insee_code=raw.upper())
        qs = qs.filter(matches)
    return qs.order_by("name", "pk")


def departements() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("insee_code")


def organisation(pk: int) -> Organisation | None:
    return (
        Organisation.objects.select_related("departement", "region", "epci", "fee_category")
        .filter(pk=pk)
        .first()
    )


def departements_spanned(organisation: Organisation) -> QuerySet[Organisation]:
    return organisation.departements_spanned.order_by("insee_code")


def member_communes(organisation: Organisation) -> QuerySet[Organisation]:
    return Organisation.objects.filter(epci=organisation).order_by("name", "pk")


def organisation_memberships(organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("position")))
        .order_by("-is_active", "user__email")
    )


@dataclass(frozen=True)
class ServiceState:
    service: Service
    subscription: Subscription | None


def organisation_services(organisation: Organisation) -> list[ServiceState]:
    """Every service of the catalogue, with the member's subscription to it if any."""
    subscriptions = {
        s.service_id: s for s in Subscription.objects.filter(organisation=organisation)
    }
    return [
        ServiceState(service=service, subscription=subscriptions.get(service.code))
        for service in Service.objects.order_by("position", "code")
    ]


# --- Users -----------------------------------------------------------------------------


def _memberships_with_roles() -> Prefetch:
    return Prefetch(
        "memberships",
        queryset=Membership.objects.select_related("organisation")
        .prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("position")))
        .order_by("-is_active", "organisation__name", "pk"),
    )


def search_users(*, text: str = "") -> QuerySet[User]:
    """Accounts whose e-mail or name contains every word (accents, case and punctuation
    aside), with their memberships."""
    qs = User.objects.prefetch_related(_memberships_with_roles())
    for _raw, folded in search.query_words(text):
        qs = qs.filter(search.contains_folded("search_text", folded))
    return qs.order_by("email")


def user(pk: int) -> User | None:
    return User.objects.prefetch_related(_memberships_with_roles()).filter(pk=pk).first()


def membership(pk: int) -> Membership | None:
    return (
        Membership.objects.select_related("user", "organisation")
        .prefetch_related(Prefetch("roles", queryset=Role.objects.order_by("position")))
        .filter(pk=pk)
        .first()
    )


def roles() -> QuerySet[Role]:
    return Role.objects.select_related("service").order_by("position", "code")


# --- Audit trail -----------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _actor_references(text: str) -> list[str]:
    """The pseudonymous references of the actors a search names.

    A reference typed as it is stored ("user:…", "system:…") is taken as is; otherwise
    the people whose (not erased) name or e-mail contains the text.
    """
    if text.startswith(("user:", "system:")):
        return [text]
    pseudonyms = AuditSubject.objects.filter(
        Q(display_name__icontains=text) | Q(email__icontains=text), erased_at__isnull=True
    ).values_list("pseudonym", flat=True)[:1000]
    return [audit.subject_reference(pseudonym) for pseudonym in pseudonyms]


def audit_events(
    *,
    chain: str = "",
    action: str = "",
    actor: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """Events of every chain, newest first; dates are days in the platform's time zone,
    both included."""
    # Newest first by primary key: it follows the order of writing across chains and,
    # unlike the time, is indexed on its own.
    qs = AuditEvent.objects.select_related("organisation").order_by("-pk")
    if chain:
        qs = qs.filter(chain=chain)
    if action:
        qs = qs.filter(action__startswith=action)
    if actor:
        qs = qs.filter(actor__in=_actor_references(actor))
    if date_from:
        qs = qs.filter(occurred_at__gte=_local_midnight(date_from))
    if date_to:
        qs = qs.filter(occurred_at__lt=_local_midnight(date_to + timedelta(days=1)))
    return qs


def actor_names(events: Any) -> dict[str, str]:
    """Display names of the people behind the events' pseudonyms, unless erased."""
    pseudonyms = set()
    for event in events:
        kind, _sep, value = event.actor.partition(":")
        if kind == "user":
            try:
                pseudonyms.add(uuid.UUID(value))
            except ValueError:
                continue
    if not pseudonyms:
        return {}
    return {
        audit.subject_reference(subject.pseudonym): subject.display_name or subject.email
        for subject in AuditSubject.objects.filter(pseudonym__in=pseudonyms, erased_at__isnull=True)
        if subject.display_name or subject.email
    }


# --- Outgoing e-mail -------------------------------------------------------------------


def outgoing_emails(*, status: str = "", to: str = "") -> QuerySet[OutgoingEmail]:
    """The outbox, newest first (by primary key, which follows the creation time)."""
    qs = OutgoingEmail.objects.defer("body_text", "body_html").order_by("-pk")
    if status:
        qs = qs.filter(status=status)
    if to:
        qs = qs.filter(to__icontains=to.strip())
    return qs


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
    reference = reference.strip()
    if not reference:
        return None
    organisation = Organisation.objects.filter(Q(siren=reference) | Q(slug=reference)).first()
    if organisation is not None:
        return ApiParty(organisation_id=organisation.pk, company_id=None, name=organisation.name)
    company = Company.objects.filter(siren=reference).first()
    if company is not None:
        return ApiParty(organisation_id=None, company_id=company.pk, name=company.name)
    return None
