"""The public directory of the territory's organisations: public facts only.

``Organisation`` is not an organisation-owned table: every visitor, signed in or not, may
read it. Subscriptions are, and are read through ``core.crossings``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import F, Q, QuerySet

from mutualis.core import search
from mutualis.core.models import Organisation, OrganisationKind

# What the list page and the API show of each organisation, read as plain rows: building
# four model instances per row (the organisation, its département, région and EPCI) cost
# more than the query. The rest (fee category, colours, timestamps) is never read.
LIST_VALUES = (
    "pk", "name", "slug", "kind", "siren", "insee_code", "population", "adhesion_status",
    "adhesion_since",
)  # fmt: skip
LIST_RELATED = {
    "departement_code": F("departement__insee_code"),
    "departement_name": F("departement__name"),
    "region_code": F("region__insee_code"),
    "epci_siren": F("epci__siren"),
}


def search_organisations(
    *, kind: str = "", departement: str = "", adhesion: str = "", text: str = ""
) -> QuerySet[Organisation, dict[str, Any]]:
    """Organisations matching the filters, by name, as rows (``LIST_VALUES`` and
    ``LIST_RELATED``); ``departement`` is an INSEE code ("21").

    ``text``: every word must be in the name, whatever the accents, case and punctuation
    ("cote d or" finds "Côte-d'Or"), or be its SIREN or INSEE code (``core.search``).

    A département filter keeps the département itself, the organisations attached to it,
    and the EPCIs whose communes lie partly in it. The département and those EPCIs are
    read first, in one small query, so that the list's own query compares plain numbers:
    PostgreSQL then joins two index scans (the département's rows, a few identifiers)
    instead of walking the whole name order to filter it, whatever the département.
    """
    qs = Organisation.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if adhesion:
        qs = qs.filter(adhesion_status=adhesion)
    if departement:
        found = departement_rows(departement)
        if found:
            departement_id, ids = found
            qs = qs.filter(Q(departement=departement_id) | Q(pk__in=ids))
        else:
            qs = qs.none()
    for raw, folded in search.query_words(text):
        matches = search.contains_folded("search_name", folded)
        if search.looks_like_code(raw):
            matches |= Q(siren=raw) | Q(insee_code=raw.upper())
        qs = qs.filter(matches)
    rows: QuerySet[Organisation, dict[str, Any]] = qs.order_by("name", "pk").values(
        *LIST_VALUES, **LIST_RELATED
    )
    return rows


# A list counts its rows up to this many past the page asked for, no further: counting
# the whole of France (36,000 rows) on every page would cost more than the page itself.
COUNT_AHEAD = 1000


class BoundedPaginator(Paginator):
    """A paginator that stops counting ``COUNT_AHEAD`` rows past the page asked for.

    ``count`` is exact when ``count_is_exact``; otherwise it is a lower bound, and the
    list says "more than" it. Every page stays reachable: asking for a later page counts
    further. The count reads at most ``page * per_page + COUNT_AHEAD + 1`` index entries,
    like the page itself reads its offset.
    """

    def __init__(self, object_list: QuerySet[Any], per_page: int, *, number_asked: int) -> None:
        super().__init__(object_list, per_page)
        self.number_asked = max(number_asked, 1)
        self.count_is_exact = True

    def rows_of(self, number: int) -> list[Any]:
        """The rows of page ``number`` (none past the end).

        Reads one row more than a page: a page that is not full is the last one, and the
        count is then known without counting (a text query rarely fills its first page).
        """
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if len(rows) <= self.per_page and (rows or number == 1):
            self.__dict__["count"] = bottom + len(rows)
            self.count_is_exact = True
        return rows[: self.per_page]

    def get_page(self, number: Any) -> Page:
        """Page ``number`` (read by ``page_number``); past the end, the last page."""
        asked = page_number(number)
        rows = self.rows_of(asked)
        if not rows and asked > 1:
            return super().get_page(asked)
        return Page(rows, asked, self)

    @cached_property
    def count(self) -> int:
        limit = self.number_asked * self.per_page + COUNT_AHEAD
        rows: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        counted: int = rows.order_by().values("pk")[: limit + 1].count()
        if counted > limit:
            self.count_is_exact = False
            return limit
        return counted


# The last page anyone may ask for: a larger number would make an offset past the
# database's 64-bit integers (SQLite answers "datatype mismatch", a 500).
MAX_PAGE_NUMBER = 1_000_000


def page_number(value: object) -> int:
    """The page a query string asks for: 1 when missing or not a number, at most
    ``MAX_PAGE_NUMBER``."""
    try:
        return min(max(int(str(value)), 1), MAX_PAGE_NUMBER)
    except ValueError:
        return 1


def organisation_changes() -> QuerySet[Organisation]:
    """Every organisation with the fields of the API's list, for the change feed (which
    orders it by modification)."""
    return Organisation.objects.select_related("departement", "region", "epci").only(
        *LIST_VALUES, "departement__insee_code", "region__insee_code", "epci__siren", "updated_at"
    )


# The départements change with an import of the territory, not between two pages: the list
# is kept this many seconds in the shared cache rather than read on every directory page.
DEPARTEMENT_CHOICES_SECONDS = 300


def departement_choices() -> list[tuple[str, str]]:
    """The départements for a filter, by INSEE code, labelled "21 – Côte-d'Or"."""  # noqa: RUF002

    def read() -> list[tuple[str, str]]:
        rows = (
            Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT)
            .exclude(insee_code="")
            .order_by("insee_code")
            .values_list("insee_code", "name")
        )
        return [(code, f"{code} \N{EN DASH} {name}") for code, name in rows]

    choices = cache.get_or_set("directory:departement_choices", read, DEPARTEMENT_CHOICES_SECONDS)
    return list(choices or [])


def departement_rows(code: str) -> tuple[int, list[int]] | None:
    """The id of the département of INSEE ``code`` and the ids its filter lists besides
    the rows attached to it (itself and the EPCIs whose communes lie partly in it), or
    None for an unknown code. Kept in the shared cache like the choices: every filtered
    page would otherwise pay one more query for a fact that changes with an import."""

    def read() -> tuple[int, list[int]] | tuple[()]:
        found = list(
            Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT, insee_code=code)
            .order_by("pk")
            .values_list("pk", "epcis_spanning")
        )
        if not found:
            return ()  # cached too: an unknown code costs no query either
        departement_id = found[0][0]
        ids = {departement_id} | {epci for pk, epci in found if pk == departement_id and epci}
        return departement_id, sorted(ids)

    if not (code.isascii() and code.isalnum() and len(code) <= 3):
        return None  # no département has such a code; nor is it a fit cache key
    rows = cache.get_or_set(f"directory:departement:{code}", read, DEPARTEMENT_CHOICES_SECONDS)
    return (rows[0], list(rows[1])) if rows else None


def public_organisation(*, slug: str) -> Organisation | None:
    return (
        Organisation.objects.select_related("departement", "region", "epci")
        .filter(slug=slug)
        .first()
    )


def public_colours(*, slug: str) -> tuple[str, str] | None:
    """The primary and secondary colours of the organisation at ``slug``, for its
    stylesheet: two columns, no join."""
    return (
        Organisation.objects.filter(slug=slug)
        .values_list("primary_colour", "secondary_colour")
        .first()
    )


def member_communes_page(*, epci: Organisation, page: object, per_page: int = 100) -> Page:
    """The communes of an EPCI, a page at a time (the largest have a few hundred)."""
    # The related manager sets ``commune.epci`` on each row: ``epci`` must not be deferred.
    communes = epci.member_communes.only("name", "slug", "epci").order_by("name", "pk")
    return Paginator(communes, per_page).get_page(page)
