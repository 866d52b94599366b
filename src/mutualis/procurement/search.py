"""The search of published consultations: one set of criteria for the portal, its Atom
feed and the API (and the alerts that save them), named as in ``shared_params``:

``q`` words (``core.fulltext``), ``buyer`` (an organisation's slug), ``departement`` (the
buyer's), ``cpv`` (a prefix of 2 to 8 digits, on the main, additional and lots' codes),
``procedure``, ``category`` (each repeatable), ``state`` (``open``/``closed``, from the
deadline at read time), ``deadline_after``/``deadline_before`` (Paris days),
``sort`` (``relevance``, ``deadline``, ``recent``).

:class:`SearchForm` reads and checks them (a clear message per parameter, never a 500);
:func:`parse` gives a :class:`ConsultationSearch`, whose :func:`apply` filters a queryset
and :func:`ordered` sorts it. The crossing ``public_search_page`` runs them over every
member's published consultations.

Broad queries stay fast: counts stop at ``MUTUALIS_SEARCH_COUNT_CAP`` ("more than
1,000"; the first page carries its count as a subquery: one query), the list reads only
the columns it shows (``crossings.public_search_page``), the CPV filter reads an index
(``Consultation.cpv_prefixes``), and a query matching more than ``RELEVANCE_CAP`` rows
(or more than the count cap) is ordered by date instead of relevance
(ranking reads every matching row: 181 ms at p95 for a very common word on 100,000
notices, ``PERFORMANCE.md``), which the page says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet, ValidationError
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from mutualis.core import fulltext
from mutualis.core.models import CpvCode, Organisation, OrganisationKind
from mutualis.core.search import MAX_QUERY_LENGTH

from .deadlines import PARIS
from .models import State
from .vocabulary import Category, Procedure

M = TypeVar("M", bound=Model)

# Counting stops at ``MUTUALIS_SEARCH_COUNT_CAP`` (1,000 by default): the page says
# "more than 1,000". Counting is most of the cost of a broad query (bench/RESULTS.md).
# Past this many matches, a query is ordered by date rather than relevance.
RELEVANCE_CAP = 2_000
# How long the organisations of a département are kept (``buyers_in``).
BUYERS_CACHE_SECONDS = 300
# Values of one repeatable parameter: more is no search anybody types.
MAX_VALUES = 20
# Deadlines searched: a year outside is a typing error (and year 1 or 9999 overflows
# the conversion from Paris days to UTC instants).
MIN_YEAR, MAX_YEAR = 2000, 2100
# The largest identifier a database stores (a larger one is no consultation, not a 500).
MAX_ID = 2**63 - 1
# The last page anyone may ask for (an offset beyond would be no search either).
MAX_PAGE = 50_000

SORT_RELEVANCE, SORT_DEADLINE, SORT_RECENT = "relevance", "deadline", "recent"
SORTS = [
    (SORT_RELEVANCE, _("Relevance")),
    (SORT_DEADLINE, _("Deadline, soonest first")),
    (SORT_RECENT, _("Publication, newest first")),
]
STATES = [("open", _("Open for responses")), ("closed", _("Closed"))]
# INSEE codes of the départements (metropolitan, Corsica, overseas).
DEPARTEMENT = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-6])$")
CPV_PREFIX = re.compile(r"^(\d{2,8})(-\d)?$")
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,120}$")
PARAMETERS = (
    "q",
    "buyer",
    "departement",
    "cpv",
    "procedure",
    "category",
    "state",
    "deadline_after",
    "deadline_before",
    "sort",
)


@dataclass(frozen=True)
class ConsultationSearch:
    """What a visitor, a feed reader or a program asked for, checked."""

    text: str = ""
    buyers: tuple[str, ...] = ()
    departements: tuple[str, ...] = ()
    cpv: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    state: str = ""
    deadline_after: date | None = None
    deadline_before: date | None = None
    sort: str = ""

    @property
    def requested_sort(self) -> str:
        """The sort asked for, or the default: relevance with words, newest without."""
        if self.sort:
            return self.sort
        return SORT_RELEVANCE if fulltext.query_text(self.text) else SORT_RECENT

    def as_query(self) -> QueryDict:
        """The parameters of this search, for a link (page, feed, alert)."""
        query = QueryDict(mutable=True)
        single = {
            "q": self.text,
            "state": self.state,
            "deadline_after": self.deadline_after.isoformat() if self.deadline_after else "",
            "deadline_before": self.deadline_before.isoformat() if self.deadline_before else "",
            "sort": self.sort,
        }
        repeated = {
            "buyer": self.buyers,
            "departement": self.departements,
            "cpv": self.cpv,
            "procedure": self.procedures,
            "category": self.categories,
        }
        for name in PARAMETERS:
            if single.get(name):
                query[name] = single[name]
            elif repeated.get(name):
                query.setlist(name, list(repeated[name]))
        return query

    @property
    def is_filtered(self) -> bool:
        return bool(self.as_query())


# --- Reading the parameters ----------------------------------------------------------------


class RepeatedText(forms.TextInput):
    """A text box for a repeatable parameter: reads every value (``cpv=45&cpv=72``) and
    shows them separated by spaces."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name)
        return [] if value is None else [value]

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, list | tuple):
            return " ".join(str(v) for v in value) or None
        return super().format_value(value)


class ValuesField(forms.Field):
    """Several values, given repeated or separated by spaces or commas, each checked by
    :meth:`check`, duplicates dropped, at most ``MAX_VALUES``."""

    widget: type[forms.Widget] = RepeatedText

    def to_python(self, value: Any) -> list[str]:
        if value in self.empty_values:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        words: list[str] = []
        for item in values:
            words.extend(w for w in re.split(r"[\s,;]+", str(item)) if w)
        if len(words) > MAX_VALUES:
            raise ValidationError(
                _("At most %(count)d values."), code="too_many", params={"count": MAX_VALUES}
            )
        return list(dict.fromkeys(self.check(w) for w in words))

    def check(self, word: str) -> str:
        return word


class CpvPrefixField(ValuesField):
    def check(self, word: str) -> str:
        match = CPV_PREFIX.match(word)
        if match is None:
            raise ValidationError(
                _("“%(value)s” is not a CPV code: give 2 to 8 of its digits, for example 45."),
                code="cpv_format",
                params={"value": word[:20]},
            )
        # 45200000 is the group 452: its trailing zeros only pad the code to 8 digits.
        return match.group(1).rstrip("0").ljust(2, "0")


class DepartementField(ValuesField):
    def check(self, word: str) -> str:
        code = word.upper()
        if not DEPARTEMENT.match(code):
            raise ValidationError(
                _(
                    "“%(value)s” is not a département code: give its INSEE code, for"
                    " example 21 or 2A."
                ),
                code="departement_unknown",
                params={"value": word[:20]},
            )
        return code


class SlugField(ValuesField):
    def check(self, word: str) -> str:
        if not SLUG.match(word):
            raise ValidationError(
                _("“%(value)s” is not a buyer of the platform."),
                code="buyer_unknown",
                params={"value": word[:40]},
            )
        return word


class ChoicesField(ValuesField):
    """Values among fixed choices, rendered as check boxes."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, *, choices: Iterable[tuple[str, Any]], **kwargs: Any) -> None:
        self.choices = list(choices)
        super().__init__(**kwargs)
        self.widget.choices = self.choices

    def check(self, word: str) -> str:
        if word not in {value for value, _label in self.choices}:
            raise ValidationError(
                _("“%(value)s” is not one of the choices."),
                code="invalid_choice",
                params={"value": word[:40]},
            )
        return word


class SearchForm(forms.Form):
    """The search parameters, checked. ``departement_choices`` only dresses the page's
    list; any département code is accepted. Buyers are typed (their address on the
    platform) or chosen by following a buyer's link in the results: a list of the two
    thousand buyers rendered in every page cost 100 ms and 100 KB a page."""

    q = forms.CharField(label=_("Words"), max_length=MAX_QUERY_LENGTH, required=False)
    buyer = SlugField(
        label=_("Buyers"),
        required=False,
        help_text=_("The address of one or more buyers on the platform, for example dijon."),
    )
    departement = DepartementField(label=_("Départements of the buyer"), required=False)
    cpv = CpvPrefixField(
        label=_("CPV codes"),
        required=False,
        help_text=_("The first digits of one or more codes, for example 45 or 452."),
    )
    procedure = ChoicesField(label=_("Procedure"), choices=Procedure.choices, required=False)
    category = ChoicesField(label=_("Category"), choices=Category.choices, required=False)
    state = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *STATES], required=False)
    deadline_after = forms.DateField(
        label=_("Deadline from"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    deadline_before = forms.DateField(
        label=_("Deadline until"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), choices=[("", _("Default")), *SORTS], required=False
    )

    def __init__(
        self,
        *args: Any,
        departement_choices: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if departement_choices is not None:
            self.fields["departement"].widget = forms.SelectMultiple(choices=departement_choices)

    def _clean_date(self, name: str) -> date | None:
        value: date | None = self.cleaned_data.get(name)
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValidationError(
                _("Give a date between the years %(start)d and %(end)d."),
                code="date_out_of_range",
                params={"start": MIN_YEAR, "end": MAX_YEAR},
            )
        return value

    def clean_deadline_after(self) -> date | None:
        return self._clean_date("deadline_after")

    def clean_deadline_before(self) -> date | None:
        return self._clean_date("deadline_before")

    def clean_buyer(self) -> list[str]:
        slugs: list[str] = self.cleaned_data.get("buyer") or []
        if slugs:
            known = set(Organisation.objects.filter(slug__in=slugs).values_list("slug", flat=True))
            unknown = [s for s in slugs if s not in known]
            if unknown:
                raise ValidationError(
                    _("“%(value)s” is not a buyer of the platform."),
                    code="buyer_unknown",
                    params={"value": unknown[0][:40]},
                )
        return slugs

    def clean_cpv(self) -> list[str]:
        prefixes: list[str] = self.cleaned_data.get("cpv") or []
        for prefix in prefixes:
            if not CpvCode.objects.filter(code__startswith=prefix, supplementary=False).exists():
                raise ValidationError(
                    _("No code of the CPV vocabulary starts with %(value)s."),
                    code="cpv_unknown",
                    params={"value": prefix},
                )
        return prefixes

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        after, before = data.get("deadline_after"), data.get("deadline_before")
        if after and before and after > before:
            self.add_error(
                "deadline_before",
                ValidationError(
                    _("The end of the deadline window comes before its start."),
                    code="date_order",
                ),
            )
        return data

    def search(self) -> ConsultationSearch:
        """The checked search (call after ``is_valid()``)."""
        data = self.cleaned_data
        return ConsultationSearch(
            text=data["q"],
            buyers=tuple(data["buyer"]),
            departements=tuple(data["departement"]),
            cpv=tuple(data["cpv"]),
            procedures=tuple(data["procedure"]),
            categories=tuple(data["category"]),
            state=data["state"],
            deadline_after=data["deadline_after"],
            deadline_before=data["deadline_before"],
            sort=data["sort"],
        )


class _SharedFields(dict[str, forms.Field]):
    """The fields of a form that only reads parameters: every instance reads the class's
    own fields instead of a deep copy of them (Django copies them for each form, in case
    one changes them: a third of a millisecond a search)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


class _ReadingForm(SearchForm):
    """:class:`SearchForm` to check parameters, never rendered nor changed (``parse``)."""


_ReadingForm.base_fields = _SharedFields(SearchForm.base_fields)


@dataclass
class InvalidSearch(Exception):
    """Parameters refused: one ``{code, field, message}`` per error."""

    errors: list[dict[str, str]] = field(default_factory=list)


def form_errors(form: forms.Form) -> list[dict[str, str]]:
    return [
        {"code": error.code or "invalid", "field": name, "message": " ".join(error.messages)}
        for name, errors in form.errors.as_data().items()
        for error in errors
    ]


def parse(data: Mapping[str, Any]) -> ConsultationSearch:
    """The search given by ``data`` (a QueryDict, or a map of lists), or
    :class:`InvalidSearch` with every error."""
    if not isinstance(data, MultiValueDict):
        data = MultiValueDict(
            {
                k: list(v) if isinstance(v, list | tuple) else [v]
                for k, v in data.items()
                if v is not None
            }
        )
    form = _ReadingForm(data)
    if not form.is_valid():
        raise InvalidSearch(form_errors(form))
    return form.search()


# --- Applying it -------------------------------------------------------------------------------


def paris_midnight(day: date) -> datetime:
    # Midnight always exists in Paris (the clocks change at 2:00 and 3:00).
    return datetime.combine(day, time(0, 0), tzinfo=PARIS)


def deadline_window(search: ConsultationSearch) -> tuple[datetime | None, datetime | None]:
    """The instants the deadline must fall between (start included, end excluded): the
    Paris days asked for, whole."""
    start = paris_midnight(search.deadline_after) if search.deadline_after else None
    end = None
    if search.deadline_before:
        end = paris_midnight(search.deadline_before + timedelta(days=1))
    return start, end


def cpv_condition(prefixes: tuple[str, ...], *, on_postgresql: bool) -> Q:
    """One of the consultation's codes (main, additional, its lots') starts with one of
    ``prefixes``: ``cpv_prefixes`` holds every prefix of every code (``models``).

    PostgreSQL reads its GIN index (``@>``, 6 ms for 10,000 matches of 100,000 rows where
    matching the codes themselves read every row, 53 ms); SQLite finds ``"4526"`` in the
    JSON text, the same answers."""
    condition = Q()
    for prefix in prefixes:
        if on_postgresql:
            condition |= Q(cpv_prefixes__contains=[prefix])
        else:
            condition |= Q(cpv_prefixes_text__contains=f'"{prefix}"')
    return condition


def buyers_in(departements: tuple[str, ...]) -> list[int]:
    """The organisations of these départements: attached to one, one itself, or a
    grouping that spans one. Read first, as a list: given as a subquery, PostgreSQL
    guessed 2 buyers for 200 and read every consultation of each (33 ms against 12 ms
    on 100,000). Kept in the shared cache for ``BUYERS_CACHE_SECONDS`` (1.5 ms a filtered
    search otherwise): a member that joins is found by its département a few minutes
    later, its consultations by every other filter at once. The codes were checked
    (``DEPARTEMENT``), so they make a fit cache key."""

    def read() -> list[int]:
        return list(
            Organisation.objects.filter(
                Q(departement__insee_code__in=departements)
                | Q(kind=OrganisationKind.DEPARTEMENT, insee_code__in=departements)
                | Q(departements_spanned__insee_code__in=departements)
            )
            .values_list("pk", flat=True)
            .distinct()
        )

    key = "procurement:buyers-in:" + ",".join(sorted(departements))
    return list(cache.get_or_set(key, read, BUYERS_CACHE_SECONDS) or [])


def apply(rows: QuerySet[M], search: ConsultationSearch, *, now: datetime) -> QuerySet[M]:
    """``rows`` (consultations) narrowed to ``search``; not ordered. ``search_sql``
    writes the same conditions in SQL (a test compares both)."""
    rows = fulltext.matching(rows, search.text)
    if search.buyers:
        rows = rows.filter(organisation__slug__in=search.buyers)
    if search.departements:
        rows = rows.filter(organisation_id__in=buyers_in(search.departements))
    if search.cpv:
        if connections[rows.db].vendor == "postgresql":
            rows = rows.filter(cpv_condition(search.cpv, on_postgresql=True))
        else:
            rows = rows.annotate(cpv_prefixes_text=Cast("cpv_prefixes", TextField())).filter(
                cpv_condition(search.cpv, on_postgresql=False)
            )
    if search.procedures:
        rows = rows.filter(procedure__in=search.procedures)
    if search.categories:
        rows = rows.filter(category__in=search.categories)
    # Open is computed from the deadline now, never from the state the job records.
    is_open = Q(state=State.PUBLISHED, response_deadline__gt=now)
    if search.state == "open":
        rows = rows.filter(is_open)
    elif search.state == "closed":
        rows = rows.exclude(is_open)
    start, end = deadline_window(search)
    if start:
        rows = rows.filter(response_deadline__gte=start)
    if end:
        rows = rows.filter(response_deadline__lt=end)
    return rows


def ordered(rows: QuerySet[M], search: ConsultationSearch, sort: str) -> QuerySet[M]:
    if sort == SORT_RELEVANCE:
        # PostgreSQL only (``results`` never asks SQLite, which has no ranking).
        return fulltext.by_relevance(rows, search.text, then="-pk")
    if sort == SORT_DEADLINE:
        return rows.order_by("response_deadline", "pk")
    # Every public consultation was published: no date is missing (index 0003).
    return rows.order_by("-published_at", "-pk")


@dataclass
class Results:
    """A page of a search: its rows, the count (exact or a lower bound), the sort used
    (relevance may give way to the date on a broad query)."""

    page: Page[Any]
    count: int
    count_is_exact: bool
    sort: str
    # Relevance was asked but too many rows match to rank them (the page says so).
    relevance_dropped: bool = False


def page_number(value: Any) -> int:
    """The page a query string asks for: 1 when missing or not a number."""
    try:
        return min(max(int(str(value)), 1), MAX_PAGE)
    except ValueError:
        return 1


def count_cap() -> int:
    return int(settings.MUTUALIS_SEARCH_COUNT_CAP)


class Reader(Protocol):
    """What :func:`results` reads a search's matches with: the ORM
    (:class:`QuerysetReader`, every database) or SQL written for PostgreSQL
    (``search_sql.SqlReader``, the public portal and API). Rows are tuples of the
    columns asked for."""

    @property
    def ranks(self) -> bool:
        """Whether the database ranks by relevance (SQLite has no ranking)."""

    def first_page(self, sort: str, cap: int, size: int) -> tuple[list[tuple[Any, ...]], int]:
        """The first ``size`` rows in the order ``sort`` and the number of matches
        counted up to ``cap + 1``, in one query."""

    def count(self, cap: int) -> int:
        """The number of matches, counted up to ``cap + 1``."""

    def rows(self, sort: str, offset: int, size: int) -> list[tuple[Any, ...]]:
        """``size`` rows in the order ``sort``, after the first ``offset``."""


def _counting(rows: QuerySet[Any], cap: int) -> tuple[str, tuple[Any, ...]] | None:
    """SQL counting ``rows`` up to ``cap + 1``, as text (Django's own ``count()`` over a
    sliced queryset wraps and resolves the whole query again: a millisecond of Python
    a search, bench/RESULTS.md "procurement search"); None when a condition matches
    nothing (a département without buyers)."""
    query = rows.order_by().values("pk")[: cap + 1].query
    try:
        sql, params = query.get_compiler(rows.db).as_sql()
    except EmptyResultSet:
        return None
    # Django compiled ``sql``; every value typed is in ``params``.
    return f"SELECT COUNT(*) FROM ({sql}) counted", tuple(params)  # noqa: S608


@dataclass
class QuerysetReader:
    """A search's matches read through the ORM: ``matching`` is ``apply``'s queryset."""

    matching: QuerySet[Any]
    search: ConsultationSearch
    columns: tuple[str, ...]

    @property
    def ranks(self) -> bool:
        return connections[self.matching.db].vendor == "postgresql"

    def first_page(self, sort: str, cap: int, size: int) -> tuple[list[tuple[Any, ...]], int]:
        counting = _counting(self.matching, cap)
        if counting is None:
            return [], 0
        # The count as a column of the page (S611: compiled by Django, see _counting).
        counted = RawSQL(*counting)  # noqa: S611
        first = ordered(self.matching, self.search, sort).annotate(counted=counted)
        values = list(first[:size].values_list(*self.columns, "counted"))
        return [v[:-1] for v in values], int(values[0][-1]) if values else 0

    def count(self, cap: int) -> int:
        counting = _counting(self.matching, cap)
        if counting is None:
            return 0
        with connections[self.matching.db].cursor() as cursor:
            cursor.execute(*counting)
            (counted,) = cursor.fetchone()
        return int(counted)

    def rows(self, sort: str, offset: int, size: int) -> list[tuple[Any, ...]]:
        page = ordered(self.matching, self.search, sort)[offset : offset + size]
        return list(page.values_list(*self.columns))


def bounded(counted: int, cap: int) -> tuple[int, bool]:
    """A count read up to ``cap + 1``: (count, exact), the cap when it went past."""
    return (cap, False) if counted > cap else (counted, True)


def results(
    reader: Reader,
    search: ConsultationSearch,
    *,
    page: Any,
    per_page: int,
    make: Callable[..., Any],
) -> Results:
    """One page of ``search`` read by ``reader``: a count up to the cap (or up to the
    page asked for, beyond it) and the page. Each row of the page is ``make(*values)``.

    The first page and its count are one query (the count a subquery of it, evaluated
    once), ordered by date when relevance was asked: most words typed match more rows
    than are ranked (``RELEVANCE_CAP``), and a query matching fewer is read again, by
    relevance. Beyond the first page, the count comes first (it says which page is the
    last), then the page."""
    number = page_number(page)
    sort = search.requested_sort
    cap = max(count_cap(), number * per_page)

    def rankable(count: int, exact: bool) -> bool:
        # A query without words has nothing to rank.
        return exact and count <= RELEVANCE_CAP and reader.ranks and bool(search.text)

    if number == 1:
        by_date = SORT_RECENT if sort == SORT_RELEVANCE else sort
        values, counted = reader.first_page(by_date, cap, per_page)
        count, exact = bounded(counted, cap)
        if sort == SORT_RELEVANCE and not rankable(count, exact):
            sort = SORT_RECENT
        elif sort == SORT_RELEVANCE and count > 1:
            values = reader.rows(sort, 0, per_page)
        current = number
    else:
        count, exact = bounded(reader.count(cap), cap)
        if sort == SORT_RELEVANCE and not rankable(count, exact):
            sort = SORT_RECENT
        current = min(number, max(1, math.ceil(count / per_page)))
        values = reader.rows(sort, (current - 1) * per_page, per_page)
    paginator: Paginator[Any] = Paginator([], per_page)
    paginator.__dict__["count"] = count  # counted above, capped
    too_broad = not exact or count > RELEVANCE_CAP
    return Results(
        page=Page([make(*v) for v in values], current, paginator),
        count=count,
        count_is_exact=exact,
        sort=sort,
        relevance_dropped=too_broad and search.requested_sort == SORT_RELEVANCE,
    )
