"""The public API of the DECP: ``GET /api/v1/decp`` (the change feed of the entries, in
the official envelope) and ``GET /api/v1/decp/{siret}/{id}`` (one entry, by its buyer's
SIRET and its identifier). Open data: no authentication; the API's rate limits per
address apply."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema

from mutualis.core.api import VALIDATION, ApiError, errors, rendered
from mutualis.core.api.pagination import ChangeParams

from . import crossings

router = Router(tags=["decp"])

SIRET_PATTERN = r"^[0-9]{14}$"
SIREN_PATTERN = r"^[0-9]{9}$"
REFERENCE_PATTERN = r"^[A-Za-z0-9._-]{1,16}$"


class DecpFilters(ChangeParams):
    siret: str | None = Field(
        None, description="Only the entries of this buyer's SIRET (14 digits).",
        pattern=SIRET_PATTERN,
    )  # fmt: skip
    siren: str | None = Field(
        None, description="Only the entries of the buyers of this SIREN (9 digits).",
        pattern=SIREN_PATTERN,
    )  # fmt: skip


class MarcheList(Schema):
    marche: list[dict[str, Any]] = Field(
        description="DECP 2.0.3 `marche` entries, valid against the official schema."
    )


class DecpChanges(Schema):
    marches: MarcheList = Field(
        description='The official envelope: `{"marches": {"marche": [...]}}`.'
    )
    has_more: bool = Field(description="More changes wait: ask again with next_cursor.")
    next_cursor: str | None = Field(
        description=(
            "Opaque position after the last entry: send it as `cursor` next time, even"
            " when `has_more` is false (null before any entry)."
        )
    )


@router.get(
    "/decp",
    response={200: DecpChanges, **VALIDATION, **errors()},
    operation_id="list_decp",
    summary="Essential data of the contracts (DECP), modified since a cursor",
    description=(
        "The DECP 2.0.3 entries of every buyer's contracts of 40,000 € excl. VAT or more,"
        " in the official envelope, oldest modification first (ties in a stable order): a"
        " change feed with no offset drift. An amendment appends a `modification` and"
        " brings its entry again. Read from the start once, then from the last"
        " `next_cursor`; re-reading from a cursor a minute older covers a transaction that"
        " committed late. `siret` or `siren` keep one buyer's entries."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "Entries modified after the cursor."},
            400: {"description": "The cursor was not given by this feed (`invalid_cursor`)."},
            422: {"description": "A parameter is invalid (a SIRET of 13 digits, …)."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def list_decp(request: HttpRequest, filters: Query[DecpFilters]) -> HttpResponse:
    feed = crossings.public_changes(
        cursor=filters.cursor, limit=filters.limit, siret=filters.siret, siren=filters.siren
    )
    return rendered(
        {
            "marches": {"marche": [row.data for row in feed["results"]]},
            "has_more": feed["has_more"],
            "next_cursor": feed["next_cursor"],
        }
    )


@router.get(
    "/decp/{siret}/{reference}",
    response={200: dict[str, Any], **VALIDATION, **errors(404)},
    operation_id="get_decp",
    summary="One contract's essential data (DECP)",
    description=(
        "The DECP 2.0.3 `marche` of one contract, by its buyer's SIRET and its identifier"
        " (`id`, unique for the buyer)."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "The entry, a DECP 2.0.3 `marche`."},
            404: {"description": "No public entry of this buyer has this identifier."},
            422: {"description": "The SIRET or the identifier is malformed."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def get_decp(
    request: HttpRequest,
    siret: str = Path(..., pattern=SIRET_PATTERN),  # type: ignore[type-arg]
    reference: str = Path(..., pattern=REFERENCE_PATTERN),  # type: ignore[type-arg]
) -> HttpResponse:
    entry = crossings.public_entry(siret=siret, reference=reference)
    if entry is None:
        raise ApiError(
            404, "not_found", _("No public DECP entry of this buyer has this identifier.")
        )
    return rendered(entry.data)
