"""Where the procurement context reads across members, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py`` (a test checks it).

What a member published is public: the portal lists every member's published
consultations, and the page of each one shows its lots and criteria. These crossings
read the published states only (``PUBLIC_STATES``), never a draft or a scheduled one, and
hand out evaluated rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page
from django.db.models import Prefetch, Q, QuerySet
from django_scopes import scopes_disabled

from mutualis.core import fulltext
from mutualis.core.crossings import evaluated_page
from mutualis.core.registry import crossing

from .models import PUBLIC_STATES, AwardCriterion, Consultation, Lot, State

PER_PAGE = 20


@dataclass(frozen=True)
class PublicFilters:
    text: str = ""
    buyer: str = ""  # an organisation's slug
    procedure: str = ""
    category: str = ""
    status: str = ""  # "open", "closed" or ""


@crossing
def public_consultations_page(
    filters: PublicFilters, *, now: datetime, page: Any = 1
) -> Page[Consultation]:
    """The public portal lists the published consultations of every member: public
    facts, filtered as a visitor asked."""
    with scopes_disabled():
        rows: QuerySet[Consultation] = Consultation.objects.filter(state__in=PUBLIC_STATES)
        # Words in French, whatever their accents; "a phrase", -excluded (core.fulltext).
        rows = fulltext.matching(rows, filters.text)
        if filters.buyer:
            rows = rows.filter(organisation__slug=filters.buyer)
        if filters.procedure:
            rows = rows.filter(procedure=filters.procedure)
        if filters.category:
            rows = rows.filter(category=filters.category)
        # Open is computed from the deadline now, never from the state the job records.
        is_open = Q(state=State.PUBLISHED, response_deadline__gt=now)
        if filters.status == "open":
            rows = rows.filter(is_open)
        elif filters.status == "closed":
            rows = rows.exclude(is_open)
        rows = rows.select_related("organisation").order_by("-published_at", "-pk")
        return evaluated_page(rows, page, PER_PAGE)


@crossing
def public_consultation(consultation_id: int) -> Consultation | None:
    """The public page of one published consultation, with its lots and criteria: what
    its buyer published for every business to read."""
    with scopes_disabled():
        consultation = (
            Consultation.objects.filter(pk=consultation_id, state__in=PUBLIC_STATES)
            .select_related("organisation")
            .prefetch_related(
                Prefetch("lots", queryset=Lot.objects.order_by("number")),
                Prefetch("criteria", queryset=AwardCriterion.objects.order_by("position", "pk")),
            )
            .first()
        )
        if consultation is not None:
            # Read now, while the scopes are off: the page renders them afterwards.
            list(consultation.lots.all())
            list(consultation.criteria.all())
        return consultation


@crossing
def public_buyers() -> list[tuple[str, str]]:
    """The members that published at least one consultation, for the portal's buyer
    filter: (slug, name), public facts."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(state__in=PUBLIC_STATES)
            .values_list("organisation__slug", "organisation__name")
            .distinct()
            .order_by("organisation__name")
        )


@crossing
def recent_public_consultations_of(organisation_id: int, *, limit: int = 10) -> list[Consultation]:
    """A member's public page in the directory lists its latest published consultations
    (its buyer profile): public facts."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(
                organisation_id=organisation_id, state__in=PUBLIC_STATES
            ).order_by("-published_at", "-pk")[:limit]
        )


@crossing
def due_consultations(*, now: datetime) -> list[tuple[int, int]]:
    """The periodic job finds, across every member, the consultations whose planned
    publication or deadline has come (``next_check``): identifiers only; each is then
    moved inside its own member's scope."""
    with scopes_disabled():
        return list(
            Consultation.objects.filter(next_check__lte=now)
            .order_by("next_check", "pk")
            .values_list("pk", "organisation_id")
        )


# --- Alerts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertNotice:
    """A published consultation as alerts read it: what matching needs (``notice``) and
    what an e-mail or a feed shows."""

    notice: Any  # alert_matching.Notice
    reference: str
    title: str
    buyer_name: str
    published_at: datetime
    response_deadline: datetime


@crossing
def alert_notices(
    *,
    consultation_ids: list[int] | None = None,
    published_after: datetime | None = None,
    published_until: datetime | None = None,
    states: list[str] | None = None,
    latest: int | None = None,
) -> list[AlertNotice]:
    """Alerts match the consultations every member published (public facts): the one
    just published, those of a digest's window, or the latest ones for a feed. Four
    queries whatever their number: the consultations with their buyers, their lots'
    codes, the départements their buyers span."""
    from mutualis.core.models import Organisation

    from .alert_matching import Notice

    with scopes_disabled():
        rows = Consultation.objects.filter(state__in=states or [State.PUBLISHED])
        if consultation_ids is not None:
            rows = rows.filter(pk__in=consultation_ids)
        if published_after is not None:
            rows = rows.filter(published_at__gt=published_after)
        if published_until is not None:
            rows = rows.filter(published_at__lte=published_until)
        rows = rows.order_by("-published_at", "-pk")
        fields = (
            "pk",
            "reference",
            "title",
            "search_text",
            "main_cpv",
            "additional_cpv",
            "procedure",
            "category",
            "published_at",
            "response_deadline",
            "organisation_id",
            "organisation__slug",
            "organisation__name",
            "organisation__kind",
            "organisation__insee_code",
            "organisation__departement__insee_code",
        )
        values = list(rows.values_list(*fields)[:latest] if latest else rows.values_list(*fields))
        ids = [v[0] for v in values]
        lot_codes: dict[int, list[str]] = {}
        for consultation_id, codes in Lot.objects.filter(consultation_id__in=ids).values_list(
            "consultation_id", "cpv_codes"
        ):
            lot_codes.setdefault(consultation_id, []).extend(codes or [])
        spanned: dict[int, set[str]] = {}
        through = Organisation.departements_spanned.through
        for organisation_id, code in through.objects.filter(
            from_organisation_id__in={v[10] for v in values}
        ).values_list("from_organisation_id", "to_organisation__insee_code"):
            spanned.setdefault(organisation_id, set()).add(code)
    found = []
    for v in values:
        departements = set(spanned.get(v[10], ()))
        if v[13] == "departement" and v[14]:
            departements.add(v[14])
        if v[15]:
            departements.add(v[15])
        codes = tuple(dict.fromkeys([v[4], *(v[5] or []), *lot_codes.get(v[0], [])]))
        found.append(
            AlertNotice(
                notice=Notice(
                    id=v[0],
                    text=v[3],
                    cpv_codes=codes,
                    departements=frozenset(departements),
                    procedure=v[6],
                    category=v[7],
                    buyer=v[11],
                ),
                reference=v[1],
                title=v[2],
                buyer_name=v[12],
                published_at=v[8],
                response_deadline=v[9],
            )
        )
    return found
