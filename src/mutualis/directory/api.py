"""The public API of the directory: ``GET /api/v1/organisations``, described by OpenAPI 3.

The document is at ``/api/v1/openapi.json``; ``/api/v1/docs`` shows it with the Swagger UI
that django-ninja ships, served from the platform's own static files.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import ValidationError
from ninja.openapi.docs import Swagger
from pydantic import field_validator

from mutualis.core.models import AdhesionStatus, OrganisationKind

from . import selectors

MAX_PAGE_SIZE = 500

api = NinjaAPI(
    title="Mutualis API",
    version="1.0.0",
    description=(
        "Public API of the Mutualis platform: the territory's public bodies (région,"
        " départements, communes, groupings of communes, public establishments), members"
        " of the grouping or not. Open data: no authentication. Invalid parameters are"
        " answered with status 422 and a list of errors, each with a stable `code`, the"
        " `field` it concerns and a readable `message`."
    ),
    urls_namespace="api",
    # Swagger UI would otherwise send the document to an online validator.
    docs=Swagger(settings={"validatorUrl": None}),
)


class OrganisationFilters(Schema):
    # Examples as ``example``: django-ninja copies a field's ``examples`` list into the
    # parameter object, where OpenAPI expects a map of Example Objects.
    kind: OrganisationKind | None = Field(
        None, description="Kind of organisation.", json_schema_extra={"example": "commune"}
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
        json_schema_extra={"example": "21"},
    )
    adhesion: AdhesionStatus | None = Field(
        None, description="Adhesion to the grouping.", json_schema_extra={"example": "member"}
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
    page: int = Field(1, ge=1, description="Page number, from 1.")
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


class ErrorOut(Schema):
    code: str = Field(
        description="Stable error code (an English slug).", examples=["greater_than_equal"]
    )
    field: str | None = Field(description="The parameter in error.", examples=["page"])
    message: str = Field(examples=["Input should be greater than or equal to 1"])


class ValidationErrorOut(Schema):
    code: str = Field(examples=["invalid_parameters"])
    message: str = Field(examples=["Some parameters are invalid."])
    errors: list[ErrorOut]


def _field_name(location: Any) -> str | None:
    # Ninja locates an error as ("query", "page"); nested models add more parts.
    parts = [str(part) for part in (location or ())[1:]]
    return ".".join(parts) or None


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Invalid parameters: status 422 with ``{code, field, message}`` per error."""
    return api.create_response(
        request,
        {
            "code": "invalid_parameters",
            "message": _("Some parameters are invalid."),
            "errors": [
                {
                    "code": error.get("type", "invalid"),
                    "field": _field_name(error.get("loc")),
                    "message": error.get("msg", ""),
                }
                for error in exc.errors
            ],
        },
        status=422,
    )


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


@api.get(
    "/organisations",
    response={200: OrganisationPage, 422: ValidationErrorOut},
    tags=["directory"],
    operation_id="list_organisations",
    summary="The territory's organisations",
    description=(
        "Organisations matching every filter given, sorted by name, a page at a time."
        " Two queries whatever the page size: one count (bounded, see `total`), one page."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "A page of organisations, with the total count."},
            422: {"description": "A parameter is invalid (unknown kind, page 0, …)."},
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
    total = paginator.count
    start = (filters.page - 1) * filters.page_size
    rows = qs[start : start + filters.page_size] if start < total else []
    return {
        "total": total,
        "total_is_exact": paginator.count_is_exact,
        "page": filters.page,
        "page_size": filters.page_size,
        "results": [_as_out(o) for o in rows],
    }
