"""The public API of the consultations: ``GET /api/v1/consultations`` (the portal's
search, paginated), ``GET /api/v1/consultations/{id}`` and the change feed
``GET /api/v1/consultations/changes``, attached to the platform's API by
``procurement/platform.py``. Public facts: no authentication; the API's rate limits per
address apply."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema

from mutualis.core.api import VALIDATION, ApiError, errors, rendered
from mutualis.core.api.pagination import ChangeParams
from mutualis.core.links import absolute_url
from mutualis.core.search import MAX_QUERY_LENGTH

from . import crossings, search
from .models import State
from .vocabulary import Category, Procedure

MAX_PAGE_SIZE = 100

router = Router(tags=["procurement"])


class ConsultationFilters(Schema):
    q: str | None = Field(
        None,
        description=(
            'Words (all required, accents and case ignored; `"a phrase"`, `-excluded`,'
            " `or`), in the title, reference, object and description."
        ),
        max_length=MAX_QUERY_LENGTH,
        json_schema_extra={"example": "toiture ecole"},
    )
    buyer: list[str] = Field(
        default_factory=list, description="Slug of a buyer organisation (repeatable)."
    )
    departement: list[str] = Field(
        default_factory=list,
        description="INSEE code of the buyer's département, e.g. `21`, `2A` (repeatable).",
    )
    cpv: list[str] = Field(
        default_factory=list,
        description=(
            "2 to 8 first digits of a CPV code, matched on the main, additional and lots'"
            " codes, e.g. `45` or `452330` (repeatable)."
        ),
    )
    # Checked by the search itself (400 naming the parameter, as for a CPV prefix); the
    # document still lists the values.
    procedure: list[str] = Field(
        default_factory=list,
        description="Procedure (repeatable; empty: no filter).",
        json_schema_extra={"items": {"type": "string", "enum": ["", *Procedure.values]}},
    )
    category: list[str] = Field(
        default_factory=list,
        description="What is bought (repeatable; empty: no filter).",
        json_schema_extra={"items": {"type": "string", "enum": ["", *Category.values]}},
    )
    state: str | None = Field(
        None,
        description=(
            "`open` (published, before its deadline, computed at the time of the request)"
            " or `closed`."
        ),
        pattern=r"^(open|closed)?$",
    )
    deadline_after: date | None = Field(
        None, description="Deadline for responses on or after this day (Europe/Paris)."
    )
    deadline_before: date | None = Field(
        None, description="Deadline for responses on or before this day (Europe/Paris)."
    )
    sort: str | None = Field(
        None,
        description=(
            "`relevance` (default with `q`; newest first when more than 2,000 match),"
            " `deadline` (soonest first) or `recent` (newest publication first, default"
            " without `q`)."
        ),
        pattern=r"^(relevance|deadline|recent)?$",
    )
    page: int = Field(1, ge=1, le=search.MAX_PAGE, description="Page number, from 1.")
    page_size: int = Field(
        20, ge=1, le=MAX_PAGE_SIZE, description="Consultations per page, at most 100."
    )


class BuyerOut(Schema):
    slug: str = Field(examples=["dijon"])
    name: str = Field(examples=["Dijon"])


class ConsultationOut(Schema):
    id: int
    url: str = Field(description="Its public page.")
    reference: str
    title: str
    object: str
    buyer: BuyerOut
    procedure: Procedure
    category: Category
    main_cpv: str = Field(description="Main CPV code, 8 digits without check digit.")
    additional_cpv: list[str]
    state: State = Field(description="`published`, `closed` or `cancelled`.")
    is_open: bool = Field(description="Responses accepted now (computed from the deadline).")
    published_at: datetime | None
    questions_deadline: datetime
    response_deadline: datetime
    estimated_value: Decimal | None
    updated_at: datetime = Field(description="When the consultation was last modified.")


class LotOut(Schema):
    number: int
    title: str
    description: str
    cpv_codes: list[str]
    estimated_value: Decimal | None


class CriterionOut(Schema):
    label: str
    weight: int = Field(description="Weight in percent.")


class ConsultationDetail(ConsultationOut):
    description: str = Field(description="HTML, sanitised.")
    place_of_execution: str
    contact: str
    signature_required: bool
    cancellation_kind: str
    cancellation_reason: str
    lots: list[LotOut]
    criteria: list[CriterionOut]


class ConsultationPage(Schema):
    total: int = Field(
        description=(
            "Consultations matching, when `total_is_exact`; counting stops at 1,000 (or"
            ' at the page asked for): then `total` is that bound, read "more than".'
        )
    )
    total_is_exact: bool
    page: int
    page_size: int
    sort: str = Field(description="The order applied (relevance gives way to `recent`).")
    results: list[ConsultationOut]


class ConsultationChanges(Schema):
    results: list[ConsultationOut]
    has_more: bool = Field(description="More changes wait: ask again with next_cursor.")
    next_cursor: str | None = Field(
        description=(
            "Opaque position after the last result: send it as `cursor` next time, even"
            " when `has_more` is false (null before any change)."
        )
    )


# A consultation's public address, made once per list: ``reverse`` for every row of a page
# cost a millisecond a request (bench/RESULTS.md, "procurement search").
_URL_PLACEHOLDER = 999_999_999


def detail_url_maker() -> Callable[[int], str]:
    """A function giving a consultation's public address from its id, with one ``reverse``
    for a whole list."""
    template = absolute_url(reverse("consultations:detail", kwargs={"pk": _URL_PLACEHOLDER}))
    head, tail = template.split(str(_URL_PLACEHOLDER))
    return lambda pk: f"{head}{pk}{tail}"


def _out(c: Any, now: datetime, url: Callable[[int], str] | None = None) -> dict[str, Any]:
    return {
        "id": c.pk,
        "url": (url or detail_url_maker())(c.pk),
        "reference": c.reference,
        "title": c.title,
        "object": c.object,
        "buyer": {"slug": c.organisation.slug, "name": c.organisation.name},
        "procedure": c.procedure,
        "category": c.category,
        "main_cpv": c.main_cpv,
        "additional_cpv": c.additional_cpv,
        "state": c.state,
        "is_open": c.is_open(now),
        "published_at": c.published_at,
        "questions_deadline": c.questions_deadline,
        "response_deadline": c.response_deadline,
        "estimated_value": c.estimated_value,
        "updated_at": c.updated_at,
    }


def _criteria(filters: ConsultationFilters) -> search.ConsultationSearch:
    values = filters.dict(exclude={"page", "page_size"})
    data = {
        key: [str(v) for v in value] if isinstance(value, list) else str(value)
        for key, value in values.items()
        if value not in (None, [], "")
    }
    try:
        return search.parse(data)
    except search.InvalidSearch as refused:
        first = refused.errors[0]
        raise ApiError(400, first["code"], first["message"], field=first["field"]) from None


@router.get(
    "/consultations",
    response={200: ConsultationPage, **VALIDATION, **errors()},
    operation_id="list_consultations",
    summary="Published consultations of every member",
    description=(
        "The portal's search: published consultations matching every filter given, a page"
        " at a time. Two queries at most whatever the filters: a count (bounded, see"
        " `total`) and the page, one query for a first page. An unknown buyer, département"
        " or CPV prefix is refused (400, with the parameter in `field`)."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "A page of consultations, with the count."},
            400: {"description": "A filter names nothing known (`buyer_unknown`, …)."},
            422: {"description": "A parameter is malformed (page 0, unknown procedure…)."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def list_consultations(request: HttpRequest, filters: Query[ConsultationFilters]) -> HttpResponse:
    criteria = _criteria(filters)
    now = timezone.now()
    found = crossings.public_search_page(
        criteria, now=now, page=filters.page, per_page=filters.page_size
    )
    asked_beyond = filters.page > found.page.number
    url = detail_url_maker()
    return rendered(
        {
            "total": found.count,
            "total_is_exact": found.count_is_exact,
            "page": filters.page,
            "page_size": filters.page_size,
            "sort": found.sort,
            "results": [] if asked_beyond else [_out(c, now, url) for c in found.page.object_list],
        }
    )


@router.get(
    "/consultations/changes",
    response={200: ConsultationChanges, **VALIDATION, **errors(400)},
    operation_id="list_consultation_changes",
    summary="Published consultations modified since a cursor",
    description=(
        "The change feed of the public consultations: every published consultation"
        " modified after `cursor` (publication, rectification, closing, cancellation),"
        " oldest modification first, ties in the order of their identifier. A mirror reads"
        " it from the start once, then from its last `next_cursor`: a consultation"
        " modified while the mirror reads comes again later, with its new state; none is"
        " skipped. Re-reading from a cursor a minute older covers a transaction that"
        " committed late."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "Consultations modified after the cursor."},
            400: {"description": "The cursor was not given by this feed (`invalid_cursor`)."},
            422: {"description": "A parameter is invalid (limit 0, …)."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def list_consultation_changes(request: HttpRequest, params: Query[ChangeParams]) -> dict[str, Any]:
    feed = crossings.public_consultation_changes(cursor=params.cursor, limit=params.limit)
    now = timezone.now()
    return {**feed, "results": [_out(c, now) for c in feed["results"]]}


@router.get(
    "/consultations/{consultation_id}",
    response={200: ConsultationDetail, **VALIDATION, **errors(404)},
    operation_id="get_consultation",
    summary="One published consultation",
    description="A published consultation with its lots and award criteria.",
    openapi_extra={
        "responses": {
            200: {"description": "The consultation."},
            404: {"description": "No published consultation has this identifier."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def get_consultation(
    request: HttpRequest,
    consultation_id: int = Path(..., ge=1, le=search.MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    c = crossings.public_consultation(consultation_id)
    if c is None:
        raise ApiError(
            404, "not_found", _("There is no published consultation with this identifier.")
        )
    now = timezone.now()
    return {
        **_out(c, now),
        "description": c.description,
        "place_of_execution": c.place_of_execution,
        "contact": c.contact,
        "signature_required": c.signature_required,
        "cancellation_kind": c.cancellation_kind,
        "cancellation_reason": c.cancellation_reason,
        "lots": [
            {
                "number": lot.number,
                "title": lot.title,
                "description": lot.description,
                "cpv_codes": lot.cpv_codes,
                "estimated_value": lot.estimated_value,
            }
            for lot in c.lots.all()
        ],
        "criteria": [{"label": k.label, "weight": k.weight} for k in c.criteria.all()],
    }
