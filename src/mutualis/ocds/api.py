"""The open data API of OCDS: ``GET /api/v1/ocds/releases`` (release packages, a cursor
feed in the order releases were stored) and ``GET /api/v1/ocds/records/{ocid}`` (a record
package compiled from the releases). Public facts: no authentication; the API's rate
limits per address apply."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema
from pydantic import field_validator

from mutualis.core.api import VALIDATION, ApiError, errors, rendered
from mutualis.core.links import absolute_url

from . import packages, records
from .models import Release

ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")

router = Router(tags=["ocds"])

CURSOR_SALT = "mutualis.ocds.cursor"
MAX_LIMIT = 500
OCID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$"


class ReleaseFilters(Schema):
    cursor: str | None = Field(
        None,
        max_length=200,
        description=(
            "`next_cursor` of the previous answer; without it the feed starts from the"
            " first release stored."
        ),
    )
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Releases per answer, at most 500.")
    buyer: str | None = Field(
        None,
        pattern=r"^[0-9]{9}$",
        description="SIREN of the buyer (9 digits).",
        json_schema_extra={"example": "212102313"},
    )
    since: datetime | None = Field(
        None, description="Releases dated at or after this instant (ISO 8601)."
    )

    @field_validator("since", mode="before")
    @classmethod
    def _iso_only(cls, value: Any) -> Any:
        # pydantic reads "0.5" or "1700000000" as a Unix time: the document says ISO 8601.
        if isinstance(value, str) and not ISO_DATE.match(value):
            raise ValueError("an ISO 8601 date or date and time is expected")
        return value

    @field_validator("since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # Python reads offsets up to ±23:59, PostgreSQL refuses past ±15:59 (a 500): the
        # instant is the same in UTC. A naive one is the server's time zone.
        if value is None:
            return None
        try:
            aware = timezone.make_aware(value) if timezone.is_naive(value) else value
            return aware.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValueError("this instant is outside the years a date can hold") from None


class ReleasePackageOut(Schema):
    uri: str
    version: str = Field(examples=["1.1"])
    publishedDate: str
    publisher: dict[str, str]
    license: str
    releases: list[dict[str, Any]] = Field(description="OCDS 1.1 releases.")
    links: dict[str, str] = Field(description="`next`: the next answer, when `has_more`.")
    has_more: bool = Field(description="More releases wait: ask again with next_cursor.")
    next_cursor: str | None = Field(
        description=(
            "Opaque position after the last release: send it as `cursor` next time, even"
            " when `has_more` is false (null before any release)."
        )
    )


class RecordPackageOut(Schema):
    uri: str
    version: str
    publishedDate: str
    publisher: dict[str, str]
    license: str
    records: list[dict[str, Any]] = Field(description="One OCDS 1.1 record.")


def encode_cursor(pk: int) -> str:
    return signing.dumps(["ocds-releases", pk], salt=CURSOR_SALT, compress=True)


def decode_cursor(cursor: str) -> int:
    try:
        feed, pk = signing.loads(cursor, salt=CURSOR_SALT)
        if feed != "ocds-releases" or not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError(feed)
        return pk
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise ApiError(
            400,
            "invalid_cursor",
            _("This cursor is invalid: use next_cursor as the previous answer gave it."),
            field="cursor",
        ) from exc


def release_page(filters: ReleaseFilters) -> dict[str, Any]:
    """One answer of the feed: releases after the cursor, in the order they were stored
    (their identifier: rows never change, so no release is skipped or repeated between
    two answers, however many are added meanwhile). One query."""
    rows = Release.objects.order_by("pk")
    if filters.cursor:
        rows = rows.filter(pk__gt=decode_cursor(filters.cursor))
    if filters.buyer:
        rows = rows.filter(buyer__siren=filters.buyer)
    if filters.since:
        rows = rows.filter(date__gte=filters.since)
    found = list(rows.values_list("pk", "data")[: filters.limit + 1])
    has_more = len(found) > filters.limit
    found = found[: filters.limit]
    cursor = encode_cursor(found[-1][0]) if found else filters.cursor
    return {"releases": [data for _pk, data in found], "has_more": has_more, "cursor": cursor}


@router.get(
    "/ocds/releases",
    response={200: ReleasePackageOut, **VALIDATION, **errors(400)},
    operation_id="list_ocds_releases",
    url_name="list_ocds_releases",
    summary="OCDS releases, in the order they were stored",
    description=(
        "An OCDS 1.1 release package of the releases of every member's procedures"
        " (tender, award and contract stages), oldest first. A mirror reads it from the"
        " start once, then from its last `next_cursor`: releases are immutable and come"
        " in the order they were stored, so none is skipped or repeated. `buyer` and"
        " `since` narrow the feed (keep the same filters with a cursor)."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "A release package."},
            400: {"description": "The cursor was not given by this feed (`invalid_cursor`)."},
            422: {"description": "A parameter is invalid (limit 0, buyer not 9 digits…)."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def list_releases(request: HttpRequest, filters: Query[ReleaseFilters]) -> HttpResponse:
    page = release_page(filters)
    base = absolute_url(reverse("api:list_ocds_releases"))
    uri = base + ("?" + request.META["QUERY_STRING"] if request.META.get("QUERY_STRING") else "")
    links: dict[str, str] = {}
    if page["has_more"]:
        query = {
            k: v
            for k, v in {
                "cursor": page["cursor"],
                "limit": filters.limit,
                "buyer": filters.buyer,
                "since": filters.since.isoformat() if filters.since else None,
            }.items()
            if v is not None
        }
        links["next"] = f"{base}?{urlencode(query)}"
    return rendered(
        {
            **packages.metadata(uri=uri, published=timezone.now()),
            "releases": page["releases"],
            "links": links,
            "has_more": page["has_more"],
            "next_cursor": page["cursor"],
        }
    )


@router.get(
    "/ocds/records/{ocid}",
    response={200: RecordPackageOut, **VALIDATION, **errors(404)},
    operation_id="get_ocds_record",
    url_name="get_ocds_record",
    summary="The OCDS record of one procedure",
    description=(
        "An OCDS 1.1 record package: the procedure's releases, embedded in the order they"
        " were stored, and the compiled release merged from them."
    ),
    openapi_extra={
        "responses": {
            200: {"description": "A record package."},
            404: {"description": "No release has this ocid."},
            422: {"description": "The ocid is malformed."},
            429: {"description": "Too many requests from this address."},
        }
    },
)
def get_record(
    request: HttpRequest,
    ocid: str = Path(..., max_length=120, pattern=OCID_PATTERN),  # type: ignore[type-arg]
) -> HttpResponse:
    package = records.record_package(ocid)
    if package is None:
        raise ApiError(404, "not_found", _("There is no OCDS record with this ocid."))
    return rendered(package)
