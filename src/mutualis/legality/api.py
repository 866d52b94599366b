"""The legality API for the members' software (deliberation and finance packages, the
usual clients of S²LOW), under ``/api/v1/legality/``:

- acts: create one (multipart: its fields, the main document, annexes, detached
  signatures), send it (checked, packed and queued: ``services.validate_act``), read its
  state, its acknowledgement and the files: the transmitted document, the stamped PDF,
  the acknowledgement slip;
- webhooks: addresses told of every status change (``webhooks.py``), with their
  delivery log.

The caller is an API client bound to a member (``identity.api_clients``): reads need
``api:read``, writes ``api:write``. Each operation runs in the member's scope only: an
act of another member is not found (404). A company's client has no acts (403). The use
cases are the services the agents' pages use, with the client as actor
(``services.ClientActor``): same checks, same audit events, the member's subscription
required for every write. Creating an act is idempotent on its number: the same number
again answers 409 with the act already created, so a client retrying after a lost answer
creates nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile

from mutualis.core import audit
from mutualis.core.api import VALIDATION, ApiError, errors
from mutualis.core.api.pagination import page_of
from mutualis.core.files.download import serve_file
from mutualis.identity.api_clients import READ, WRITE, ApiCaller

from . import actes, services, webhooks
from . import errors as legality_errors
from .models import (
    Act,
    ActStatus,
    Annex,
    DeliveryStatus,
    Stamp,
    WebhookDelivery,
    WebhookEndpoint,
)

router = Router(tags=["legality"])

MAX_ID = 2**31 - 1
MAX_PAGE_SIZE = 100
MAX_ANNEXES = 50
PDF_RESPONSE = {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}


def _organisation_id(request: HttpRequest) -> int:
    caller = request.auth  # type: ignore[attr-defined]
    if not isinstance(caller, ApiCaller) or caller.organisation_id is None:
        raise ApiError(
            403, "permission_denied", _("Only a client of a member organisation has acts.")
        )
    return caller.organisation_id


def _actor(request: HttpRequest) -> services.ClientActor:
    caller: ApiCaller = request.auth  # type: ignore[attr-defined]
    return services.ClientActor.of(caller.client_id, _organisation_id(request))


def _context(request: HttpRequest) -> dict[str, Any]:
    return dict(audit.request_context(request))


# --- Schemas ---------------------------------------------------------------------------


class FileOut(Schema):
    name: str
    sha256: str
    size: int
    content_type: str


class AnnexOut(Schema):
    position: int
    piece_type: str = Field(examples=["99_AU"])
    file: FileOut
    signature: FileOut | None


class SignatureOut(Schema):
    file: str = Field(description="The file the signature is on (or attached to).")
    kind: str = Field(description="`pades` (in the PDF) or `cades` (a detached .p7s).")
    valid: bool = Field(
        description="Intact, by a certificate valid at signing that chains to a trust anchor."
    )
    intact: bool
    trusted: bool
    certificate_valid_at_signing: bool
    signer: str
    issuer: str
    signing_time: str | None
    problems: list[str]


class ActOut(Schema):
    id: int
    number: str = Field(examples=["DEL_2026_001"])
    nature: int = Field(description="1 DE, 2 AR, 3 AI, 4 CC, 5 BF, 6 AU.")
    decided_on: date
    classification: str = Field(examples=["1.1"])
    subject: str
    paper_follows: bool
    status: ActStatus
    identifier: str = Field(
        description="The @ctes identifier (IDActe), set when the act is sent; empty before."
    )
    sent_at: datetime | None
    received_on: date | None = Field(
        description="The reception date the prefecture's acknowledgement states (legal proof)."
    )
    acknowledged_at: datetime | None
    published_on: date | None
    error_reason: str = Field(description="Why the act is in error, when it is.")
    document: FileOut
    document_signature: FileOut | None
    annexes: list[AnnexOut]
    signatures: list[SignatureOut] = Field(
        description="The signatures found on the act's files when it was sent."
    )
    stamped: FileOut | None = Field(description="The latest stamped PDF, once acknowledged.")
    slip: FileOut | None = Field(description="The acknowledgement slip, once acknowledged.")
    created_at: datetime
    updated_at: datetime


class ActPage(Schema):
    total: int
    page: int
    page_size: int
    results: list[ActOut]


class ActFilters(Schema):
    status: ActStatus | None = Field(None, description="Only acts in this status.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


class ActIn(Schema):
    nature: int = Field(ge=1, le=6, description="1 DE, 2 AR, 3 AI, 4 CC, 5 BF, 6 AU.")
    number: str = Field(
        max_length=actes.NUMBER_MAX_LENGTH,
        description="At most 15 characters: upper-case letters, digits and `_`; unique.",
    )
    decided_on: date = Field(description="The decision date, not in the future.")
    classification: str = Field(max_length=20, description="A code of the classification.")
    subject: str = Field(max_length=actes.SUBJECT_MAX_LENGTH)
    paper_follows: bool = False
    annex_piece_types: list[str] = Field(
        default_factory=list,
        description="The piece type of each annex (`99_AU`, …), in the order of `annexes`.",
    )


class WebhookIn(Schema):
    url: str = Field(
        max_length=webhooks.URL_MAX_LENGTH,
        description="An https:// address resolving to public addresses only.",
    )
    events: list[str] = Field(
        default_factory=list,
        description="Events to receive (`act.acknowledged`, `act.error`, …); empty: all.",
    )
    description: str = Field("", max_length=webhooks.DESCRIPTION_MAX_LENGTH)


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    is_active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description=(
            "Signs every delivery (HMAC-SHA256 over `{timestamp}.{body}`, header"
            " `Mutualis-Signature: v1=<hex>`). Shown this once: keep it."
        )
    )


class DeliveryOut(Schema):
    event_id: str
    event: str
    act_id: int
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    log: list[dict[str, Any]]


class DeliveryPage(Schema):
    total: int
    page: int
    page_size: int
    results: list[DeliveryOut]


class PageParams(Schema):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


# --- Helpers ---------------------------------------------------------------------------


def _file(stored: Any) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {
        "name": stored.original_name,
        "sha256": stored.sha256,
        "size": stored.size,
        "content_type": stored.content_type,
    }


def _acts(organisation_id: int) -> Any:
    return (
        Act.objects.filter(organisation_id=organisation_id)
        .select_related("document", "document_signature", "slip")
        .prefetch_related(
            Prefetch("annexes", queryset=Annex.objects.select_related("file", "signature")),
            Prefetch("stamps", queryset=Stamp.objects.select_related("file")),
        )
    )


def _act(organisation_id: int, act_id: int) -> Act:
    act: Act | None = _acts(organisation_id).filter(pk=act_id).first()
    if act is None:
        raise ApiError(404, "not_found", _("There is no act with this identifier."))
    return act


def _out(act: Act) -> dict[str, Any]:
    # The latest stamp (Stamp's ordering), from the prefetched rows.
    stamps = list(act.stamps.all())
    stamp = stamps[0] if stamps else None
    return {
        "id": act.pk,
        "number": act.number,
        "nature": act.nature,
        "decided_on": act.decided_on,
        "classification": act.classification,
        "subject": act.subject,
        "paper_follows": act.paper_follows,
        "status": act.status,
        "identifier": act.identifier,
        "sent_at": act.sent_at,
        "received_on": act.received_on,
        "acknowledged_at": act.acknowledged_at,
        "published_on": act.published_on,
        "error_reason": act.error_reason,
        "document": _file(act.document),
        "document_signature": _file(act.document_signature),
        "annexes": [
            {
                "position": a.position,
                "piece_type": a.piece_type,
                "file": _file(a.file),
                "signature": _file(a.signature),
            }
            for a in act.annexes.all()
        ],
        "signatures": act.signature_report or [],
        "stamped": _file(stamp.file) if stamp else None,
        "slip": _file(act.slip),
        "created_at": act.created_at,
        "updated_at": act.updated_at,
    }


def _upload(file: UploadedFile | None) -> services.Upload | None:
    if file is None:
        return None
    return services.Upload(file.file, file.name or "document")  # type: ignore[arg-type]


# --- Acts ------------------------------------------------------------------------------


@router.get(
    "/legality/acts",
    auth=READ,
    response={200: ActPage, **VALIDATION, **errors(401, 403)},
    operation_id="list_acts",
    summary="The member's acts",
    description="The acts of the client's organisation, newest decision first.",
)
def list_acts(request: HttpRequest, filters: Query[ActFilters]) -> dict[str, Any]:
    qs = _acts(_organisation_id(request))
    if filters.status:
        qs = qs.filter(status=filters.status)
    found = page_of(qs, page=filters.page, page_size=filters.page_size)
    return {**found, "results": [_out(a) for a in found["results"]]}


@router.post(
    "/legality/acts",
    auth=WRITE,
    response={201: ActOut, 409: ActOut, **VALIDATION, **errors(401, 403)},
    operation_id="create_act",
    summary="Prepare an act",
    description=(
        "An act with its main document (PDF; XML for a budget document), its annexes"
        " (PDF, each with a piece type in `annex_piece_types`) and optional detached"
        " PKCS#7 signatures, in one multipart request. The act is prepared, not sent:"
        " send it with `POST /legality/acts/{id}/send`. A number already used by an act"
        " of the member answers 409 with that act (a retry creates nothing twice)."
    ),
    openapi_extra={
        "responses": {
            201: {"description": "The act, prepared."},
            409: {"description": "An act with this number exists: here it is."},
            400: {"description": "Refused: the message says what to fix."},
        }
    },
)
def create_act(
    request: HttpRequest,
    payload: Form[ActIn],
    document: File[UploadedFile],
    # Optional, and not nullable in the document: a file part or nothing.
    document_signature: File[UploadedFile] = None,  # type: ignore[assignment]
    annexes: File[list[UploadedFile]] = None,  # type: ignore[assignment]
    annex_signatures: File[list[UploadedFile]] = None,  # type: ignore[assignment]
) -> Status[Any]:
    actor = _actor(request)
    files = list(annexes or [])
    signatures = list(annex_signatures or [])
    if len(files) > MAX_ANNEXES:
        raise ApiError(400, "too_many_annexes", _("At most 50 annexes."), field="annexes")
    if len(payload.annex_piece_types) != len(files):
        raise ApiError(
            400,
            "annex_piece_types_mismatch",
            _("Give one piece type per annex, in the same order."),
            field="annex_piece_types",
        )
    if signatures and len(signatures) != len(files):
        raise ApiError(
            400,
            "annex_signatures_mismatch",
            _("Give one signature per annex, or none."),
            field="annex_signatures",
        )
    existing = _acts(actor.organisation_id).filter(number=payload.number).first()
    if existing is not None:
        return Status(409, _out(existing))
    try:
        act = _prepare(actor, payload, document, document_signature, files, signatures, request)
    except legality_errors.NumberTaken:
        # Another request created it a moment ago (a retry racing the first attempt).
        existing = _acts(actor.organisation_id).filter(number=payload.number).first()
        if existing is None:
            raise
        return Status(409, _out(existing))
    return Status(201, _out(_act(actor.organisation_id, act.pk)))


def _prepare(
    actor: services.ClientActor,
    payload: ActIn,
    document: UploadedFile,
    document_signature: UploadedFile | None,
    files: list[UploadedFile],
    signatures: list[UploadedFile],
    request: HttpRequest,
) -> Act:
    return services.prepare_act(
        actor=actor,
        nature=payload.nature,
        number=payload.number,
        decided_on=payload.decided_on,
        classification_code=payload.classification,
        subject=payload.subject,
        paper_follows=payload.paper_follows,
        document=_upload(document),
        document_signature=_upload(document_signature),
        annexes=[
            services.AnnexUpload(
                file.file,  # type: ignore[arg-type]
                file.name or "annexe.pdf",
                piece_type,
                _upload(signatures[i]) if signatures else None,
            )
            for i, (file, piece_type) in enumerate(
                zip(files, payload.annex_piece_types, strict=True)
            )
        ],
        request_context=_context(request),
    )


@router.get(
    "/legality/acts/{act_id}",
    auth=READ,
    response={200: ActOut, **VALIDATION, **errors(401, 403, 404)},
    operation_id="get_act",
    summary="One act: its state, acknowledgement and files",
)
def get_act(
    request: HttpRequest,
    act_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    return _out(_act(_organisation_id(request), act_id))


@router.post(
    "/legality/acts/{act_id}/send",
    auth=WRITE,
    response={200: ActOut, **VALIDATION, **errors(401, 403, 404)},
    operation_id="send_act",
    summary="Send a prepared act",
    description=(
        "Checks the act (the @ctes schema, file types and sizes, PDF readability,"
        " attached signatures, the number), builds its package and queues it: the status"
        " becomes `waiting`, then `sent` and `acknowledged` as the ministry answers (see"
        " the webhooks). Refused (400, `legality_act_refused`) with every reason to fix."
    ),
)
def send_act(
    request: HttpRequest,
    act_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    actor = _actor(request)
    _act(actor.organisation_id, act_id)
    act = services.validate_act(actor=actor, act_id=act_id, request_context=_context(request))
    return _out(_act(actor.organisation_id, act.pk))


def _serve(request: HttpRequest, stored: Any) -> HttpResponseBase:
    if stored is None:
        raise ApiError(404, "not_found", _("This file does not exist (yet) for this act."))
    return serve_file(request, stored, public=False)


_FILE_RESPONSES = {
    "responses": {
        200: {"description": "The file.", **PDF_RESPONSE},
        404: {"description": "No such act, or not acknowledged yet."},
    }
}


@router.get(
    "/legality/acts/{act_id}/document",
    auth=READ,
    response={**VALIDATION, **errors(401, 403, 404)},
    operation_id="get_act_document",
    summary="The act's main document, as transmitted",
    openapi_extra={
        "responses": {
            200: {
                "description": "The document (PDF, or XML for a budget document).",
                "content": {
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "text/xml": {"schema": {"type": "string"}},
                    "application/xml": {"schema": {"type": "string"}},
                },
            }
        }
    },
)
def get_act_document(
    request: HttpRequest,
    act_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> HttpResponseBase:
    return _serve(request, _act(_organisation_id(request), act_id).document)


@router.get(
    "/legality/acts/{act_id}/stamped",
    auth=READ,
    response={**VALIDATION, **errors(401, 403, 404)},
    operation_id="get_act_stamped",
    summary="The stamped PDF of an acknowledged act (the latest stamp)",
    openapi_extra=_FILE_RESPONSES,
)
def get_act_stamped(
    request: HttpRequest,
    act_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> HttpResponseBase:
    act = _act(_organisation_id(request), act_id)
    stamps = list(act.stamps.all())
    return _serve(request, stamps[0].file if stamps else None)


@router.get(
    "/legality/acts/{act_id}/slip",
    auth=READ,
    response={**VALIDATION, **errors(401, 403, 404)},
    operation_id="get_act_slip",
    summary="The acknowledgement slip of an acknowledged act",
    openapi_extra=_FILE_RESPONSES,
)
def get_act_slip(
    request: HttpRequest,
    act_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> HttpResponseBase:
    return _serve(request, _act(_organisation_id(request), act_id).slip)


# --- Webhooks --------------------------------------------------------------------------


def _webhook_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
        "created_at": endpoint.created_at,
    }


@router.get(
    "/legality/webhooks",
    auth=READ,
    response={200: list[WebhookOut], **errors(401, 403)},
    operation_id="list_webhooks",
    summary="The member's webhook addresses",
)
def list_webhooks(request: HttpRequest) -> list[dict[str, Any]]:
    organisation_id = _organisation_id(request)
    return [
        _webhook_out(e) for e in WebhookEndpoint.objects.filter(organisation_id=organisation_id)
    ]


@router.post(
    "/legality/webhooks",
    auth=WRITE,
    response={201: WebhookCreated, **VALIDATION, **errors(401, 403)},
    operation_id="create_webhook",
    summary="Register a webhook address",
    description=(
        "Every status change of the member's acts is posted to the address as JSON"
        " (`{id, type, created_at, data: {act}}`), signed: `Mutualis-Timestamp` (Unix"
        ' seconds) and `Mutualis-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}"'
        " with the secret>`, with `Mutualis-Event-Id` to de-duplicate. A 2xx answer"
        " delivers it; otherwise it is retried with back-off. The address must be https://"
        " and resolve to public addresses only."
    ),
    openapi_extra={"responses": {201: {"description": "Registered; the secret shown once."}}},
)
def create_webhook(request: HttpRequest, payload: WebhookIn) -> Status[Any]:
    endpoint, secret = webhooks.register_endpoint(
        actor=_actor(request),
        url=payload.url,
        events=payload.events,
        description=payload.description,
        request_context=_context(request),
    )
    return Status(201, {**_webhook_out(endpoint), "secret": secret})


@router.delete(
    "/legality/webhooks/{webhook_id}",
    auth=WRITE,
    response={204: None, **VALIDATION, **errors(401, 403, 404)},
    operation_id="delete_webhook",
    summary="Switch a webhook address off (its delivery log stays)",
)
def delete_webhook(
    request: HttpRequest,
    webhook_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Status[Any]:
    try:
        webhooks.disable_endpoint(
            actor=_actor(request), endpoint_id=webhook_id, request_context=_context(request)
        )
    except Http404:
        raise ApiError(
            404, "not_found", _("There is no active webhook with this identifier.")
        ) from None
    return Status(204, None)


@router.get(
    "/legality/webhooks/{webhook_id}/deliveries",
    auth=READ,
    response={200: DeliveryPage, **VALIDATION, **errors(401, 403, 404)},
    operation_id="list_webhook_deliveries",
    summary="The delivery log of a webhook address, newest first",
)
def list_webhook_deliveries(
    request: HttpRequest,
    params: Query[PageParams],
    webhook_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    organisation_id = _organisation_id(request)
    endpoint = WebhookEndpoint.objects.filter(
        organisation_id=organisation_id, pk=webhook_id
    ).first()
    if endpoint is None:
        raise ApiError(404, "not_found", _("There is no webhook with this identifier."))
    qs = WebhookDelivery.objects.filter(organisation_id=organisation_id, endpoint=endpoint)
    found = page_of(qs, page=params.page, page_size=params.page_size)
    return {
        **found,
        "results": [
            {
                "event_id": str(d.event_id),
                "event": d.event,
                "act_id": d.act_id,
                "status": d.status,
                "attempts": d.attempts,
                "last_status_code": d.last_status_code,
                "last_error": d.last_error,
                "created_at": d.created_at,
                "delivered_at": d.delivered_at,
                "next_attempt_at": d.next_attempt_at,
                "log": d.log,
            }
            for d in found["results"]
        ],
    }
