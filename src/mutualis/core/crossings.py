"""Where the platform core reads across members, each saying why (``registry.crossing``).

``scopes_disabled()`` appears only in modules named ``crossings.py`` (a test checks it);
each context keeps its own (``identity/crossings.py``, ``companies/crossings.py``).

The operator back office reads through the crossings of the section below, each naming
what it reads, and each returning what it read (lists, objects, pages already evaluated):
no back-office page runs with the scopes disabled, so that a read nobody declared (a
tenant's bids, an act before its transmission) fails loudly instead of leaking. Tenant
data the operator has no business reading is in no crossing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q
from django.utils import timezone
from django_scopes import scopes_disabled

from .registry import crossing

if TYPE_CHECKING:
    from .models import AuditEvent, Organisation, OutgoingEmail, Service, Subscription


@crossing
def for_every_member() -> Any:
    """Platform jobs over all members (audit checkpoints and verification, imports,
    the demo data, release steps)."""
    return scopes_disabled()


@crossing
def active_subscriptions_public(organisation_id: int) -> list[Any]:
    """The services a member subscribes to, shown on its public page: public facts."""
    from .models import Subscription

    with scopes_disabled():
        return list(
            Subscription.objects.filter(organisation_id=organisation_id, is_active=True)
            .select_related("service")
            .order_by("service__position")
        )


def evaluated_page(rows: Any, number: Any, per_page: int) -> Page[Any]:
    """The page ``number`` of ``rows`` (Django's ``get_page``: a wrong number gives the
    first or the last page), its rows read now: a crossing hands out no lazy query."""
    page = Paginator(rows, per_page).get_page(number)
    page.object_list = list(page.object_list)
    return page


# --- The operator back office ------------------------------------------------------------
#
# Operator staff administer the members: their organisations, subscriptions, audit trails
# and the platform's outbox. Each function below is one thing a back-office page reads.


@dataclass(frozen=True)
class PlatformFigures:
    organisations_by_adhesion: dict[str, int]
    # (service code, is active) -> number of subscriptions
    subscriptions: dict[tuple[str, bool], int]
    services: list[Service]
    emails_by_status: dict[str, int]


@crossing
def platform_figures() -> PlatformFigures:
    """The back-office dashboard counts every member's organisation by adhesion, the
    subscriptions by service and the outgoing e-mails by status: figures, no row's content,
    for the operator who runs the grouping."""
    from .models import Organisation, OutgoingEmail, Service, Subscription

    with scopes_disabled():
        by_adhesion = dict(
            Organisation.objects.order_by()
            .values("adhesion_status")
            .annotate(n=Count("pk"))
            .values_list("adhesion_status", "n")
        )
        subscriptions = {
            (service_id, is_active): n
            for service_id, is_active, n in Subscription.objects.order_by()
            .values("service_id", "is_active")
            .annotate(n=Count("pk"))
            .values_list("service_id", "is_active", "n")
        }
    emails = dict(
        OutgoingEmail.objects.order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return PlatformFigures(
        organisations_by_adhesion=by_adhesion,
        subscriptions=subscriptions,
        services=list(Service.objects.order_by("position", "code")),
        emails_by_status=emails,
    )


@crossing
def organisations_page(
    *,
    number: Any,
    per_page: int,
    text: str = "",
    kind: str = "",
    adhesion: str = "",
    departement: str = "",
) -> Page[Any]:
    """The back office's list of organisations (members or not): their public identity,
    adhesion and fee category, which the operator manages. ``departement`` is an INSEE code
    ("21"); each row comes with its département and fee category, joined."""
    from . import search
    from .models import Organisation, OrganisationKind

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
    return evaluated_page(qs.order_by("name", "pk"), number, per_page)


@crossing
def organisation_for_operator(pk: int) -> Organisation | None:
    """One organisation's row, with its territory and fee category: the operator edits
    its details, adhesion, branding and contact data."""
    from .models import Organisation

    return (
        Organisation.objects.select_related("departement", "region", "epci", "fee_category")
        .filter(pk=pk)
        .first()
    )


@crossing
def organisation_by_reference(reference: str) -> Organisation | None:
    """The organisation a SIREN or a public address names, for the operator who binds an
    API client to it: public facts."""
    from .models import Organisation

    reference = reference.strip()
    if not reference:
        return None
    return Organisation.objects.filter(Q(siren=reference) | Q(slug=reference)).first()


@crossing
def grouping_for_operator(organisation: Organisation) -> tuple[list[Any], list[Any]]:
    """For a grouping of communes: the départements it spans and its member communes,
    public territory the operator's page links to."""
    from .models import Organisation

    if not organisation.is_epci:
        return [], []
    return (
        list(organisation.departements_spanned.order_by("insee_code")),
        list(Organisation.objects.filter(epci=organisation).order_by("name", "pk")),
    )


@dataclass(frozen=True)
class ServiceState:
    service: Service
    subscription: Subscription | None


@crossing
def subscriptions_for_operator(organisation_id: int) -> list[ServiceState]:
    """Every service of the catalogue with the member's subscription to it, if any: the
    operator subscribes members, suspends and resumes their subscriptions."""
    from .models import Service, Subscription

    with scopes_disabled():
        subscriptions = {
            s.service_id: s for s in Subscription.objects.filter(organisation_id=organisation_id)
        }
    return [
        ServiceState(service=service, subscription=subscriptions.get(service.code))
        for service in Service.objects.order_by("position", "code")
    ]


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _actor_references(text: str) -> list[str]:
    """The pseudonymous references of the actors a search names.

    A reference typed as it is stored ("user:…", "system:…") is taken as is; otherwise
    the people whose (not erased) name or e-mail contains the text.
    """
    from . import audit
    from .models import AuditSubject

    if text.startswith(("user:", "system:")):
        return [text]
    pseudonyms = AuditSubject.objects.filter(
        Q(display_name__icontains=text) | Q(email__icontains=text), erased_at__isnull=True
    ).values_list("pseudonym", flat=True)[:1000]
    return [audit.subject_reference(pseudonym) for pseudonym in pseudonyms]


@crossing
def audit_events_page(
    *,
    number: Any,
    per_page: int,
    chain: str = "",
    action: str = "",
    actor: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> Page[Any]:
    """The events of every audit chain, newest first, for the operator who answers for
    the trail; dates are days in the platform's time zone, both included. The trail
    names its objects by type and number, never with their content."""
    from .models import AuditEvent

    with scopes_disabled():
        # Newest first by primary key: it follows the order of writing across chains
        # and, unlike the time, is indexed on its own.
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
        return evaluated_page(qs, number, per_page)


@crossing
def audit_actor_names(events: list[AuditEvent]) -> dict[str, str]:
    """Display names of the people behind the events' pseudonyms, unless erased: the
    operator reading the trail needs to know who acted."""
    from . import audit
    from .models import AuditSubject

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


@crossing
def outgoing_emails_page(
    *, number: Any, per_page: int, status: str = "", to: str = ""
) -> Page[Any]:
    """The platform's outbox, newest first, without the bodies: the operator follows the
    delivery of the messages the platform sends."""
    from .models import OutgoingEmail

    qs = OutgoingEmail.objects.defer("body_text", "body_html").order_by("-pk")
    if status:
        qs = qs.filter(status=status)
    if to:
        qs = qs.filter(to__icontains=to.strip())
    return evaluated_page(qs, number, per_page)


@crossing
def outgoing_email(pk: int) -> OutgoingEmail | None:
    """One message of the outbox, body included: the operator checks what was sent when
    a member says it never arrived, and sends it again."""
    from .models import OutgoingEmail

    return OutgoingEmail.objects.filter(pk=pk).first()
