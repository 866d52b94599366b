"""The public API of the directory: ``GET /api/v1/organisations`` and the change feed
``GET /api/v1/organisations/changes``, attached to the platform's API
(``mutualis.core.api``) by ``DirectoryConfig.ready()``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import field_validator

from mutualis.core.api import VALIDATION, errors
from mutualis.core.api.pagination import ChangeParams, changes_since
from mutualis.core.models import AdhesionStatus, Organisation, OrganisationKind

from . import selectors

MAX_PAGE_SIZE = 500

router = Router(tags=["directory"])


def _or_empty(example: str) -> Callable[[dict[str, Any]], None]:
    """An HTML form sends its empty fields (``kind=``), accepted as no filter: the document
    says so (the fuzz run found an empty value accepted where its enum forbade it)."""

    def extra(schema: dict[str, Any]) -> None:
        schema["anyOf"].insert(-1, {"const": "", "type": "string"})
        schema["example"] = example

    return extra


class OrganisationFilters(Schema):
    # Examples as ``example``: django-ninja copies a field's ``examples`` list into the
    # parameter object, where OpenAPI expects a map of Example Objects.
    kind: OrganisationKind | None = Field(
        None, description="Kind of organisation.", json_schema_extra=_or_empty("commune")
    )
    departement: str | None = Field(
        None,
        description=(
            "INSEE code of a département: its own record, the organisations attached to it"
            " and the groupings of communes that span it."
        ),
        min_length=2,
        max_length=3,
        pattern=r"^[0-9][0-9AB][0-9]?$",
        json_schema_extra=_or_empty("21"),
    )
    adhesion: AdhesionStatus | None = Field(
        None, description="Adhesion to the grouping.", json_schema_extra=_or_empty("member")
    )
    q: str | None = Field(
        None,
        description=(
            "Words of the name (all must match, whatever their accents, case and"
            " punctuation: `cote d or` finds Côte-d'Or), or a SIREN, or an INSEE code."
        ),
        max_length=100,
        json_schema_extra={"example": "Dijon"},
    )
    # Bounded: past 2**63 rows the offset overflows the database's integer (a 500).
    page: int = Field(
        1, ge=1, le=selectors.MAX_PAGE_NUMBER, description="Page number, from 1 to 1,000,000."
    )
    page_size: int = Field(
        50, ge=1, le=MAX_PAGE_SIZE, description="Organisations per page, at most 500."
    )

    @field_validator("kind", "departement", "adhesion", "q", mode="before")
    @classmethod
    def empty_means_no_filter(cls, value: Any) -> Any:
        # An HTML form sends its empty fields as ``kind=``: the same as no filter.
        return None if value == "" else value

    @field_validator("q")
    @classmethod
    def no_nul_byte(cls, value: str | None) -> str | None:
        # As Django's forms do: no database stores it, no name contains it.
        if value is not None and "\x00" in value:
            raise ValueError("Null characters are not allowed.")
        return value


class OrganisationOut(Schema):
    siren: str = Field(
        description="SIREN number (9 digits); empty for a body that has none.",
        examples=["212102313"],
    )
    name: str = Field(examples=["Dijon"])
    kind: OrganisationKind = Field(examples=["commune"])
    insee_code: str = Field(
        description="INSEE code of a commune, département or région; empty otherwise.",
        examples=["21231"],
    )
    population: int | None = Field(
        description="Population (INSEE, total population), when known.", examples=[159346]
    )
    slug: str = Field(
        description="Public page of the organisation: `/organisations/<slug>/`.",
        examples=["dijon"],
    )
    adhesion_status: AdhesionStatus = Field(examples=["member"])
    adhesion_since: date | None = Field(
        description="Date the organisation joined the grouping.", examples=["2024-01-01"]
    )
    departement: str | None = Field(description="INSEE code of its département.", examples=["21"])
    region: str | None = Field(description="INSEE code of its région.", examples=["27"])
    epci_siren: str | None = Field(
        description="SIREN of the grouping of communes (EPCI) it belongs to.",
        examples=["242100410"],
    )


class OrganisationPage(Schema):
    total: int = Field(
        description=(
            "Organisations matching the filters, when `total_is_exact` is true. Counting"
            " stops 1,000 organisations past the end of the page asked for: when more"
            " match, `total` is that bound and `total_is_exact` is false (read: more than"
            " `total`); asking for a later page counts further."
        ),
        examples=[706],
    )
    total_is_exact: bool = Field(
        description="False when more organisations match than `total` says.", examples=[True]
    )
    page: int = Field(examples=[1])
    page_size: int = Field(examples=[50])
    results: list[OrganisationOut]


def _as_out(row: dict[str, Any]) -> dict[str, Any]:
    # The selector joined the three related rows: reading them costs no query.
    return {
        "siren": row["siren"],
        "name": row["name"],
        "kind": row["kind"],
        "insee_code": row["insee_code"],
        "population": row["population"],
        "slug": row["slug"],
        "adhesion_status": row["adhesion_status"],
        "adhesion_since": row["adhesion_since"],
        "departement": row["departement_code"],
        "region": row["region_code"],
        "epci_siren": row["epci_siren"],
    }


def _object_as_out(o: Organisation) -> dict[str, Any]:
    # The change feed's selector loaded the three related rows: no query per row.
    return {
        "siren": o.siren,
        "name": o.name,
        "kind": o.kind,
        "insee_code": o.insee_code,
        "population": o.population,
        "slug": o.slug,
        "adhesion_status": o.adhesion_status,
        "adhesion_since": o.adhesion_since,
        "departement": o.departement.insee_code if o.departement else None,
        "region": o.region.insee_code if o.region else None,
        "epci_siren": o.epci.siren if o.epci else None,
        "updated_at": o.updated_at,
    }


@router.get(
    "/organisations",
    response={200: OrganisationPage, **VALIDATION, **errors()},
    operation_id="list_organisations",
    summary="The territory's organisations",
    description=(
        "Organisations matching every filter given, sorted by name, a page at a time."
        " At most two queries whatever the page size: one page, and one count (bounded, see"
        " `total`) unless the page is the last one."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "A page of organisations, with the total count."},
            422: {"description": "A parameter is invalid (unknown kind, page 0, …)."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def list_organisations(request: HttpRequest, filters: Query[OrganisationFilters]) -> dict[str, Any]:
    qs = selectors.search_organisations(
        kind=filters.kind or "",
        departement=filters.departement or "",
        adhesion=filters.adhesion or "",
        text=filters.q or "",
    )
    paginator = selectors.BoundedPaginator(qs, filters.page_size, number_asked=filters.page)
    rows = paginator.rows_of(filters.page)
    return {
        "total": paginator.count,
        "total_is_exact": paginator.count_is_exact,
        "page": filters.page,
        "page_size": filters.page_size,
        "results": [_as_out(row) for row in rows],
    }


class OrganisationChange(OrganisationOut):
    updated_at: datetime = Field(description="When the organisation was last modified.")


class OrganisationChanges(Schema):
    results: list[OrganisationChange]
    has_more: bool = Field(description="More changes wait: ask again with next_cursor.")
    next_cursor: str | None = Field(
        description=(
            "Opaque position after the last result: keep it and send it as `cursor` next"
            " time, even when `has_more` is false (null before any change)."
        )
    )


@router.get(
    "/organisations/changes",
    response={200: OrganisationChanges, **VALIDATION, **errors(400)},
    operation_id="list_organisation_changes",
    summary="Organisations modified since a cursor",
    description=(
        "The change feed of the directory: every organisation modified after `cursor`,"
        " oldest modification first (ties in the order of their identifier), at most"
        " `limit` at a time. A program that keeps a copy of the directory reads it"
        " from the start once, then from its last `next_cursor` at each visit."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "Organisations modified after the cursor."},
            400: {"description": "The cursor was not given by this feed (`invalid_cursor`)."},
            422: {"description": "A parameter is invalid (limit 0, …)."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def list_organisation_changes(request: HttpRequest, params: Query[ChangeParams]) -> dict[str, Any]:
    feed = changes_since(
        selectors.organisation_changes(),
        cursor=params.cursor,
        limit=params.limit,
        scope="organisations",
    )
    return {
        **feed,
        "results": [_object_as_out(o) for o in feed["results"]],
    }
