"""The public API of a consultation's files and notices, on the consultations' router
(``api.py``): ``GET /api/v1/consultations/{id}/documents`` (the current version's files,
each with its public download address, which serves HTTP ranges) and
``GET /api/v1/consultations/{id}/notices`` (the publication, each rectification with
what it changed, the cancellation with its reason).

What the detail operation shows, and nothing else: a published, closed or cancelled
consultation, never a draft, a scheduled one, an offer phase or a negotiation round
(``crossings.public_consultation``, ``crossings.public_documents``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Path, Schema

from mutualis.core.api import VALIDATION, ApiError, errors
from mutualis.core.links import absolute_url

from . import crossings, search
from .api import router
from .models import Consultation, ConsultationDocument, Rectification, State


class DocumentOut(Schema):
    id: int
    name: str = Field(description="The file's name, sanitised.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of the bytes, hexadecimal.")
    media_type: str = Field(description="The type read from the bytes, not from the name.")
    version: int = Field(description="The consultation's version the file was added in.")
    added_at: datetime
    url: str | None = Field(
        description="Its public download address (HTTP ranges accepted); null while the"
        " consultation is not published."
    )


class DocumentsOut(Schema):
    consultation: int
    version: int = Field(description="The consultation's current version (1: as published).")
    archive_url: str | None = Field(
        description="Every current file in one ZIP (null when there is none)."
    )
    results: list[DocumentOut] = Field(description="The current files, oldest first.")


class ChangeOut(Schema):
    field: str = Field(
        description="The field changed: `title`, `object`, `description`,"
        " `place_of_execution`, `contact`, `questions_deadline` or `response_deadline`."
    )
    before: str = Field(description="Its value before (a deadline: ISO 8601, UTC).")
    after: str = Field(description="Its value after.")


class NoticeOut(Schema):
    kind: Literal["publication", "rectification", "cancellation"]
    version: int = Field(description="The version this notice published.")
    published_at: datetime | None
    summary: str = Field(
        description="What a rectification changes; the reason of a cancellation; empty for"
        " the publication."
    )
    changes: list[ChangeOut]
    deadlines_moved: bool
    documents_added: list[int] = Field(description="Files added by this version.")
    documents_withdrawn: list[int] = Field(description="Files withdrawn by this version.")
    cancellation_kind: str = Field(
        description="`unsuccessful` or `discontinued` for a cancellation, empty otherwise."
    )


class NoticesOut(Schema):
    consultation: int
    state: State = Field(description="`published`, `closed` or `cancelled`.")
    version: int
    results: list[NoticeOut] = Field(description="Oldest first.")


def _published(
    consultation_id: int,
) -> tuple[Consultation, list[ConsultationDocument], list[Rectification]]:
    """A published, closed or cancelled consultation with its files (current and
    withdrawn) and its rectifications, as both operations read them; else 404 (a draft,
    a scheduled one, an offer phase or a negotiation round is never shown)."""
    consultation = crossings.public_consultation(consultation_id)
    if consultation is None:
        raise ApiError(
            404, "not_found", _("There is no published consultation with this identifier.")
        )
    documents, rectifications = crossings.public_documents(consultation_id)
    return consultation, documents, rectifications


def document_url(consultation_id: int, document: ConsultationDocument) -> str:
    return absolute_url(
        reverse(
            "consultations:document",
            kwargs={
                "pk": consultation_id,
                "document_pk": document.pk,
                "filename": document.file.original_name,
            },
        )
    )


def document_out(document: ConsultationDocument, *, public: bool) -> dict[str, Any]:
    stored = document.file
    return {
        "id": document.pk,
        "name": stored.original_name,
        "size": stored.size,
        "sha256": stored.sha256,
        "media_type": stored.content_type,
        "version": document.added_in_version,
        "added_at": document.added_at,
        "url": document_url(document.consultation_id, document) if public else None,
    }


@router.get(
    "/consultations/{consultation_id}/documents",
    response={200: DocumentsOut, **VALIDATION, **errors(404)},
    operation_id="list_consultation_documents",
    summary="The files of a published consultation",
    description=(
        "The current version's files (the DCE): name, size, SHA-256, type read from the"
        " bytes, the version that added each, and its public download address, which"
        " serves HTTP ranges. Files withdrawn by a rectification are in the notices."
    ),
)
def list_consultation_documents(
    request: HttpRequest,
    consultation_id: int = Path(..., ge=1, le=search.MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    consultation, documents, _rectifications = _published(consultation_id)
    current = [d for d in documents if d.is_current]
    archive = reverse("consultations:documents_zip", kwargs={"pk": consultation_id})
    return {
        "consultation": consultation_id,
        "version": consultation.version,
        "archive_url": absolute_url(archive) if current else None,
        "results": [document_out(d, public=True) for d in current],
    }


def _changes(changes: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"field": field, "before": str(value.get("before", "")), "after": str(value["after"])}
        for field, value in sorted(changes.items())
        if isinstance(value, dict) and "after" in value
    ]


@router.get(
    "/consultations/{consultation_id}/notices",
    response={200: NoticesOut, **VALIDATION, **errors(404)},
    operation_id="list_consultation_notices",
    summary="The notices of a published consultation",
    description=(
        "Its publication, each rectification (the version it published, what it changed,"
        " values before and after, deadlines moved, files added and withdrawn) and its"
        " cancellation with the reason, oldest first."
    ),
)
def list_consultation_notices(
    request: HttpRequest,
    consultation_id: int = Path(..., ge=1, le=search.MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    consultation, documents, rectifications = _published(consultation_id)

    def added(version: int) -> list[int]:
        return [d.pk for d in documents if d.added_in_version == version]

    def withdrawn(version: int) -> list[int]:
        return [d.pk for d in documents if d.withdrawn_in_version == version]

    notices: list[dict[str, Any]] = [
        {
            "kind": "publication",
            "version": 1,
            "published_at": consultation.published_at,
            "summary": "",
            "changes": [],
            "deadlines_moved": False,
            "documents_added": added(1),
            "documents_withdrawn": [],
            "cancellation_kind": "",
        }
    ]
    for rectification in rectifications:
        version = rectification.version
        notices.append(
            {
                "kind": "rectification",
                "version": version,
                "published_at": rectification.published_at,
                "summary": rectification.summary,
                "changes": _changes(rectification.changes),
                "deadlines_moved": rectification.deadlines_moved,
                "documents_added": added(version),
                "documents_withdrawn": withdrawn(version),
                "cancellation_kind": "",
            }
        )
    if consultation.state == State.CANCELLED:
        notices.append(
            {
                "kind": "cancellation",
                "version": consultation.version,
                "published_at": consultation.cancelled_at,
                "summary": consultation.cancellation_reason,
                "changes": [],
                "deadlines_moved": False,
                "documents_added": [],
                "documents_withdrawn": [],
                "cancellation_kind": consultation.cancellation_kind,
            }
        )
    return {
        "consultation": consultation_id,
        "state": consultation.state,
        "version": consultation.version,
        "results": notices,
    }
