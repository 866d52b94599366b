"""Where the procurement context reads across members, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py`` (a test checks it).

What a member published is public: the portal lists every member's published
consultations, and the page of each one shows its lots and criteria. These crossings
read the published states only (``PUBLIC_STATES``), never a draft or a scheduled one, and
hand out evaluated rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django_scopes import scopes_disabled

from mutualis.core.api.pagination import changes_since
from mutualis.core.registry import crossing

from .models import PUBLIC_STATES, AwardCriterion, Consultation, Lot
from .search import MAX_ID, ConsultationSearch, Results
from .search import apply as search_apply
from .search import ordered as search_ordered
from .search import results as search_results

PER_PAGE = 20


@crossing
def public_search_page(
    search: ConsultationSearch, *, now: datetime, page: Any = 1, per_page: int | None = None
) -> Results:
    """The public portal and the API list the published consultations of every member:
    public facts, narrowed and sorted as a visitor asked (``search``)."""
    with scopes_disabled():
        rows = Consultation.objects.filter(state__in=PUBLIC_STATES).select_related("organisation")
        return search_results(rows, search, now=now, page=page, per_page=per_page or PER_PAGE)


@crossing
def public_search_latest(
    search: ConsultationSearch, *, now: datetime, limit: int
) -> list[Consultation]:
    """The Atom feed of a search: its latest published consultations (newest first),
    public facts, uncounted."""
    with scopes_disabled():
        rows = Consultation.objects.filter(state__in=PUBLIC_STATES).select_related("organisation")
        matching = search_apply(rows, search, now=now)
        return list(search_ordered(matching, search, "recent")[:limit])


@crossing
def public_consultation_changes(*, cursor: str | None, limit: int) -> dict[str, Any]:
    """The API's change feed: published consultations of every member, oldest
    modification first, for a program keeping a copy of the public facts."""
    with scopes_disabled():
        rows = Consultation.objects.filter(state__in=PUBLIC_STATES).select_related("organisation")
        return changes_since(rows, cursor=cursor, limit=limit, scope="consultations")


@crossing
def public_consultation(consultation_id: int) -> Consultation | None:
    """The public page of one published consultation, with its lots and criteria: what
    its buyer published for every business to read."""
    if not 0 < consultation_id <= MAX_ID:
        return None  # no database holds it
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
