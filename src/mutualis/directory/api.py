"""The public API of the directory: ``GET /api/v1/organisations``, described by OpenAPI 3."""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Field, NinjaAPI, Query, Schema

from mutualis.core.models import AdhesionStatus, OrganisationKind

from . import selectors

api = NinjaAPI(
    title="Mutualis API",
    version="1.0.0",
    description="Public API of the Mutualis platform: the territory's organisations.",
    urls_namespace="api",
)


class OrganisationFilters(Schema):
    kind: OrganisationKind | None = Field(None, description="Kind of organisation.")
    departement: str | None = Field(
        None, description="INSEE code of a département, e.g. 21.", max_length=3
    )
    adhesion: AdhesionStatus | None = Field(None, description="Adhesion to the grouping.")
    q: str | None = Field(None, description="Words of the name, or a SIREN / INSEE code.",
                          max_length=100)
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class OrganisationOut(Schema):
    siren: str
    name: str
    kind: str
    insee_code: str
    population: int | None
    slug: str
    adhesion_status: str
    adhesion_since: date | None
    departement: str | None
    region: str | None
    epci_siren: str | None


class OrganisationPage(Schema):
    total: int
    page: int
    page_size: int
    results: list[OrganisationOut]


class ErrorOut(Schema):
    code: str
    field: str | None
    message: str


@api.get("/organisations", response=OrganisationPage, tags=["directory"],
         summary="The territory's organisations")
def list_organisations(request: HttpRequest, filters: Query[OrganisationFilters]) -> dict:
    qs = selectors.search_organisations(
        kind=filters.kind or "", departement=filters.departement or "",
        adhesion=filters.adhesion or "", text=filters.q or "",
    )
    total = qs.count()
    start = (filters.page - 1) * filters.page_size
    rows = qs[start : start + filters.page_size]
    return {
        "total": total,
        "page": filters.page,
        "page_size": filters.page_size,
        "results": [
            {
                "siren": o.siren, "name": o.name, "kind": o.kind, "insee_code": o.insee_code,
                "population": o.population, "slug": o.slug,
                "adhesion_status": o.adhesion_status, "adhesion_since": o.adhesion_since,
                "departement": o.departement.insee_code if o.departement else None,
                "region": o.region.insee_code if o.region else None,
                "epci_siren": o.epci.siren if o.epci else None,
            }
            for o in rows
        ],
    }
