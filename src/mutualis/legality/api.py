"""The legality API for the members' software (deliberation and finance packages, the
usual clients of S²LOW), under ``/api/v1/legality/``:

- acts: create one (multipart: its fields, the main document, annexes, detached
  signatures), send it (checked, packed and queued: ``services.validate_act``), read its
  state, its acknowledgement and the files: the transmitted document, the stamped PDF,
  the acknowledgement slip;
- webhooks: addresses told of every status change (``webhooks.py``), with their
  delivery log;
- PES: the member's accounting flows (post a ``PES_Aller``, the same import as the
  agents' page: checked, stored, its signatures verified; give the signed version of a
  flow imported unsigned; its status and the treasury's acknowledgement, element by
  element), and the treasury's returns (``PES_Retour``) in the member's inbox, their
  summary and their file (each download audited);
- monitoring: the operator's figures (acts and PES flows sent but not acknowledged after
  four hours, in error, queues), for a client of the operator's own organisation only.

The caller is an API client bound to a member (``identity.api_clients``): reads need
``api:read``, writes ``api:write``. Each operation runs in the member's scope only: an
act of another member is not found (404). A company's client has no acts (403). The use
cases are the services the agents' pages use, with the client as actor
(``services.ClientActor``): same checks, same audit events, the member's subscription
required for every write. Creating an act is idempotent on its number: the same number
again answers 409 with the act already created, so a client retrying after a lost answer
creates nothing twice. Posting a PES flow is idempotent on its ``NomFic`` (unique per
member, the flow's own key): the same file again answers 409 with the flow already
imported; another file under a name already used is refused (400).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, datetime
from typing import IO, Any

from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile

from mutualis.core import audit
from mutualis.core.api import VALIDATION, ApiError, errors
from mutualis.core.api.pagination import page_of
from mutualis.core.files.download import serve_file
from mutualis.core.models import Organisation
from mutualis.core.models.organisations import OrganisationKind
from mutualis.identity.api_clients import READ, WRITE, ApiCaller

from . import actes, crossings, services, transmission, webhooks
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
from .pes import errors as pes_errors
from .pes import inbox as pes_inbox
from .pes import selectors as pes_selectors
from .pes import services as pes_services
from .pes.models import AcquitRetourStatus, FlowStatus, PesFlow, PesReturn, Restitution

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
        description=(
            "Events to receive (`act.acknowledged`, `act.error`, `pes_flow.acknowledged`,"
            " `pes_flow.error`, `pes_return.received`, …); empty: all."
        ),
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
    act_id: int | None = Field(description="The act the event is about (`act.*` events).")
    pes_flow_id: int | None = Field(description="The PES flow (`pes_flow.*` events).")
    pes_return_id: int | None = Field(description="The PES return (`pes_return.received`).")
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
        "Every status change of the member's acts and PES flows, and every return of"
        " the treasury, is posted to the address as JSON (`{id, type, created_at, data:"
        " {act | pes_flow | pes_return}}`), signed: `Mutualis-Timestamp` (Unix"
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
                "pes_flow_id": d.pes_flow_id,
                "pes_return_id": d.pes_return_id,
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


# --- PES: the member's accounting flows (PES_Aller) -------------------------------------


class PesFlowSignatureOut(Schema):
    bordereau: str = Field(description="The bordereau's id, or `global` (one signature).")
    signer: str = ""
    signing_time: str = ""
    version: str = Field("", description="The XAdES version (1.1.1 or 1.2.2).")


class PesAckElementOut(Schema):
    domain: str = Field(
        examples=["depense"],
        description="The element's domain (`technique`, `signature technique`, `depense`, …).",
    )
    ok: bool = Field(description="Accepted (EtatAck 1) or rejected (0).")
    result: str = Field(examples=["KO"], description="`OK` or `KO`, as Helios says it.")
    year: str = Field("", description="The bordereau's year (ExerciceBord), when named.")
    bordereau: str = Field("", description="The bordereau concerned (NumBord), when named.")
    piece: str = Field("", description="The piece concerned (NumPiece), when named.")
    line: str = Field("", description="The line concerned (NumLigne), when named.")
    anomaly: str = Field(
        "", examples=["ERREUR_CODIFICATION"], description="The anomaly's code (NumAnoAck)."
    )
    label: str = Field(
        "", description="The treasury's explanation of the anomaly, in French (LibelleAnoAck)."
    )


class PesAcknowledgementOut(Schema):
    acknowledged_on: date = Field(description="The acknowledgement's date (PES_ACQUIT).")
    acknowledged_at: datetime = Field(description="When the platform recorded it.")
    refused: bool = Field(
        description="The whole flow refused (a technical or signature element KO, or nothing"
        " accepted); otherwise accepted, possibly with rejected elements."
    )
    anomalies: int = Field(description="How many elements are rejected.")
    elements: list[PesAckElementOut]
    file: FileOut | None = Field(description="The PES_ACQUIT as the treasury sent it.")


class PesFlowOut(Schema):
    id: int
    nomfic: str = Field(description="The flow's file name (NomFic), unique per member.")
    id_coll: str = Field(description="The collectivity's SIRET (IdColl).")
    cod_col: str
    cod_bud: str
    domains: list[str] = Field(examples=[["depense"]])
    dematerialised: bool = Field(description="InfoDematerialisee = 1: it must be signed.")
    bordereaux: int
    pieces: int
    status: FlowStatus = Field(
        description="`imported` (waiting for its signed version), `signed` (ready, waiting"
        " for the gateway), `sent`, `acknowledged`, `refused`, `error` (could not be"
        " sent), `cancelled`."
    )
    status_label: str = Field(description="The status, in the request's language.")
    signatures: list[PesFlowSignatureOut] = Field(
        description="The signatures verified on import (or on the signed version)."
    )
    send_attempts: int = Field(description="Deposits tried on the treasury's gateway.")
    error_reason: str = Field(description="Why the flow could not be sent, when it could not.")
    signed_at: datetime | None
    sent_at: datetime | None
    acknowledgement: PesAcknowledgementOut | None = Field(
        description="The treasury's acknowledgement (PES_ACQUIT), once received."
    )
    file: FileOut
    created_at: datetime
    updated_at: datetime


class PesFlowPage(Schema):
    total: int
    page: int
    page_size: int
    results: list[PesFlowOut]


class PesFlowFilters(Schema):
    status: FlowStatus | None = Field(None, description="Only flows in this status.")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


def _pes_flows(organisation_id: int) -> Any:
    return pes_selectors.flows_of(organisation_id).select_related("file", "acquit")


def _pes_flow(organisation_id: int, flow_id: int) -> PesFlow:
    flow: PesFlow | None = _pes_flows(organisation_id).filter(pk=flow_id).first()
    if flow is None:
        raise ApiError(404, "not_found", _("There is no flow with this identifier."))
    return flow


def _ack_element(element: dict[str, Any]) -> dict[str, Any]:
    ok = bool(element.get("ok"))
    return {
        "domain": element.get("domain", ""),
        "ok": ok,
        "result": "OK" if ok else "KO",
        **{
            key: str(element.get(key) or "")
            for key in ("year", "bordereau", "piece", "line", "anomaly", "label")
        },
    }


def _pes_flow_out(flow: PesFlow) -> dict[str, Any]:
    acknowledgement = None
    if flow.acknowledged_on is not None and flow.acknowledged_at is not None:
        acknowledgement = {
            "acknowledged_on": flow.acknowledged_on,
            "acknowledged_at": flow.acknowledged_at,
            "refused": flow.status == FlowStatus.REFUSED,
            "anomalies": len(flow.anomalies),
            "elements": [_ack_element(e) for e in flow.acknowledgement],
            "file": _file(flow.acquit),
        }
    return {
        "id": flow.pk,
        "nomfic": flow.nomfic,
        "id_coll": flow.id_coll,
        "cod_col": flow.cod_col,
        "cod_bud": flow.cod_bud,
        "domains": flow.domains,
        "dematerialised": flow.dematerialised,
        "bordereaux": flow.bordereaux,
        "pieces": flow.pieces,
        "status": flow.status,
        "status_label": str(flow.get_status_display()),
        "signatures": flow.signatures,
        "send_attempts": flow.send_attempts,
        "error_reason": flow.error_reason,
        "signed_at": flow.signed_at,
        "sent_at": flow.sent_at,
        "acknowledgement": acknowledgement,
        "file": _file(flow.file),
        "created_at": flow.created_at,
        "updated_at": flow.updated_at,
    }


def _sha256(source: IO[bytes]) -> str:
    digest = hashlib.sha256()
    source.seek(0)
    for chunk in iter(lambda: source.read(1024 * 1024), b""):
        digest.update(chunk)
    source.seek(0)
    return digest.hexdigest()


def _pes_upload(file: UploadedFile) -> pes_services.Upload:
    return pes_services.Upload(file.file, file.name or "pes_aller.xml")  # type: ignore[arg-type]


@router.get(
    "/legality/pes/flows",
    auth=READ,
    response={200: PesFlowPage, **VALIDATION, **errors(401, 403)},
    operation_id="list_pes_flows",
    summary="The member's accounting flows (PES_Aller)",
    description="The flows of the client's organisation, the latest imported first.",
)
def list_pes_flows(request: HttpRequest, filters: Query[PesFlowFilters]) -> dict[str, Any]:
    qs = _pes_flows(_organisation_id(request))
    if filters.status:
        qs = qs.filter(status=filters.status)
    found = page_of(qs, page=filters.page, page_size=filters.page_size)
    return {**found, "results": [_pes_flow_out(f) for f in found["results"]]}


@router.post(
    "/legality/pes/flows",
    auth=WRITE,
    response={201: PesFlowOut, 409: PesFlowOut, **VALIDATION, **errors(401, 403)},
    operation_id="create_pes_flow",
    summary="Post a PES_Aller",
    description=(
        "The `PES_Aller` exported by the member's finance software, as the `file` part of"
        " a multipart request (at most the platform's limit per flow, 150 MB by default)."
        " It is checked as on the agents' page: the PES V2 schemas, `IdColl` the member's"
        " SIRET (or one of its establishments'), `NomFic` not used yet, and the"
        " signatures: a flow whose `InfoDematerialisee` is 1 carries an enveloped XAdES"
        " signature per bordereau (or a global one), verified; 0 carries none. A signed"
        " flow (or one that needs no signature) is `signed` and leaves for the treasury"
        " by itself; a dematerialised flow without any signature is `imported` and waits"
        " for its signed version (`POST /legality/pes/flows/{id}/signed`). Refused (400)"
        " with a `code` (`pes_schema_invalid`, `pes_unreadable`, `pes_other_collectivity`,"
        " `pes_signature_invalid`, …) and what to fix; nothing is kept. The same file"
        " again answers 409 with the flow already imported (a retry imports nothing twice)."
    ),
    openapi_extra={
        "responses": {
            201: {"description": "The flow, imported."},
            409: {"description": "This file was already imported: here is its flow."},
            400: {"description": "Refused: the message says what to fix."},
        }
    },
)
def create_pes_flow(request: HttpRequest, file: File[UploadedFile]) -> Status[Any]:
    actor = _actor(request)
    try:
        flow = pes_services.import_flow(
            actor=actor, upload=_pes_upload(file), request_context=_context(request)
        )
    except pes_errors.NomficTaken as taken:
        # A retry after a lost answer (or racing the first attempt): the same bytes.
        existing = _pes_flows(actor.organisation_id).filter(nomfic=taken.nomfic).first()
        if existing is None or existing.file.sha256 != _sha256(file.file):  # type: ignore[arg-type]
            raise
        return Status(409, _pes_flow_out(existing))
    return Status(201, _pes_flow_out(_pes_flow(actor.organisation_id, flow.pk)))


@router.get(
    "/legality/pes/flows/{flow_id}",
    auth=READ,
    response={200: PesFlowOut, **VALIDATION, **errors(401, 403, 404)},
    operation_id="get_pes_flow",
    summary="One flow: its status and the treasury's acknowledgement",
    description=(
        "The flow's status and, once the treasury answered, its acknowledgement"
        " (PES_ACQUIT) element by element: domain, OK or KO, the bordereau, piece and line"
        " concerned, the anomaly's code and the treasury's explanation."
    ),
)
def get_pes_flow(
    request: HttpRequest,
    flow_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    return _pes_flow_out(_pes_flow(_organisation_id(request), flow_id))


@router.post(
    "/legality/pes/flows/{flow_id}/signed",
    auth=WRITE,
    response={200: PesFlowOut, **VALIDATION, **errors(401, 403, 404)},
    operation_id="sign_pes_flow",
    summary="Give the signed version of a flow imported unsigned",
    description=(
        "The same flow, its bordereaux signed by the member's signing tool (the `file`"
        " part): its content must be the flow's apart from the signatures, which are"
        " verified. The flow becomes `signed` and leaves for the treasury. Refused (400)"
        " when it is another flow, a signature does not hold, or the flow is not waiting"
        " for its signature."
    ),
)
def sign_pes_flow(
    request: HttpRequest,
    file: File[UploadedFile],
    flow_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    actor = _actor(request)
    _pes_flow(actor.organisation_id, flow_id)
    pes_services.sign_flow(
        actor=actor, flow_id=flow_id, upload=_pes_upload(file), request_context=_context(request)
    )
    return _pes_flow_out(_pes_flow(actor.organisation_id, flow_id))


_XML_FILE = {
    "content": {
        "text/xml": {"schema": {"type": "string"}},
        "application/xml": {"schema": {"type": "string"}},
    }
}


def _serve_xml(request: HttpRequest, stored: Any, message: str) -> HttpResponseBase:
    if stored is None:
        raise ApiError(404, "not_found", message)
    response = serve_file(request, stored, public=False)
    response["Cache-Control"] = "private, no-store"
    return response


@router.get(
    "/legality/pes/flows/{flow_id}/file",
    auth=READ,
    response={**VALIDATION, **errors(401, 403, 404)},
    operation_id="get_pes_flow_file",
    summary="The flow's file, as it leaves for the treasury (signed)",
    openapi_extra={"responses": {200: {"description": "The PES_Aller (XML).", **_XML_FILE}}},
)
def get_pes_flow_file(
    request: HttpRequest,
    flow_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> HttpResponseBase:
    flow = _pes_flow(_organisation_id(request), flow_id)
    return _serve_xml(request, flow.file, _("There is no flow with this identifier."))


@router.get(
    "/legality/pes/flows/{flow_id}/acknowledgement",
    auth=READ,
    response={**VALIDATION, **errors(401, 403, 404)},
    operation_id="get_pes_flow_acknowledgement",
    summary="The treasury's acknowledgement (PES_ACQUIT) of the flow, as received",
    openapi_extra={
        "responses": {
            200: {"description": "The PES_ACQUIT (XML).", **_XML_FILE},
            404: {"description": "No such flow, or not acknowledged yet."},
        }
    },
)
def get_pes_flow_acknowledgement(
    request: HttpRequest,
    flow_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> HttpResponseBase:
    flow = _pes_flow(_organisation_id(request), flow_id)
    return _serve_xml(request, flow.acquit, _("The treasury has not acknowledged this flow yet."))


# --- PES: the treasury's returns (PES_Retour) -------------------------------------------


class PesReturnDomainOut(Schema):
    domain: str = Field(examples=["depense"], description="`depense`, `recette` or `client`.")
    bordereaux: int = 0
    pieces: int = Field(0, description="Pieces returned (debtors for the `client` domain).")
    rejected: int = Field(0, description="Pieces rejected by the treasury (EtatPce 04).")
    pending: int = Field(0, description="Pieces suspended (EtatPce 01).")


class PesRejectedPieceOut(Schema):
    domain: str
    bordereau: str
    piece: str
    observation: str


class PesReturnOut(Schema):
    id: int
    nomfic: str = Field(description="The return's file name (NomFic), as Helios named it.")
    typfic: str = Field(examples=["PES2R_DEP"])
    kind: Restitution = Field(description="01 rejected or suspended pieces, 02 periodic, 03 stock.")
    id_coll: str
    domains: list[str]
    produced_on: date | None
    received_at: datetime
    read: bool = Field(description="Opened or downloaded by the member (an agent or a client).")
    summary: list[PesReturnDomainOut]
    rejected: list[PesRejectedPieceOut] = Field(description="The rejected pieces (first 50).")
    file: FileOut
    acknowledgement_status: AcquitRetourStatus = Field(
        description="The PES_ACQUIT_RETOUR the platform sends back on reception."
    )
    acknowledgement_sent_at: datetime | None


class PesReturnPage(Schema):
    total: int
    page: int
    page_size: int
    results: list[PesReturnOut]


class PesReturnFilters(Schema):
    unread: bool | None = Field(None, description="Only the returns not read yet (or read).")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE)


def _return_out(retour: PesReturn) -> dict[str, Any]:
    return {
        "id": retour.pk,
        "nomfic": retour.nomfic,
        "typfic": retour.typfic,
        "kind": retour.restitution,
        "id_coll": retour.id_coll,
        "domains": retour.domains,
        "produced_on": retour.produced_on,
        "received_at": retour.received_at,
        "read": retour.read_at is not None,
        "summary": [
            {**entry, "pieces": entry.get("pieces", entry.get("clients", 0))}
            for entry in retour.summary
        ],
        "rejected": retour.rejected,
        "file": _file(retour.file),
        "acknowledgement_status": retour.ack_status,
        "acknowledgement_sent_at": retour.ack_sent_at,
    }


def _pes_return(organisation_id: int, return_id: int) -> PesReturn:
    retour = pes_selectors.return_of(organisation_id, return_id)
    if retour is None:
        raise ApiError(404, "not_found", _("There is no return with this identifier."))
    return retour


@router.get(
    "/legality/pes/returns",
    auth=READ,
    response={200: PesReturnPage, **VALIDATION, **errors(401, 403)},
    operation_id="list_pes_returns",
    summary="The member's returns from the treasury (PES_Retour)",
    description=(
        "The PES_Retour the treasury sent to the client's organisation, newest first:"
        " kind, domains, pieces per domain, the rejected pieces, and whether the member"
        " read it. The platform acknowledges each on reception (PES_ACQUIT_RETOUR)."
    ),
)
def list_pes_returns(request: HttpRequest, filters: Query[PesReturnFilters]) -> dict[str, Any]:
    qs = pes_selectors.returns_of(_organisation_id(request)).select_related("file")
    if filters.unread is not None:
        qs = qs.filter(read_at__isnull=filters.unread)
    found = page_of(qs, page=filters.page, page_size=filters.page_size)
    return {**found, "results": [_return_out(r) for r in found["results"]]}


@router.get(
    "/legality/pes/returns/{return_id}",
    auth=READ,
    response={200: PesReturnOut, **VALIDATION, **errors(401, 403, 404)},
    operation_id="get_pes_return",
    summary="One return from the treasury: its summary",
)
def get_pes_return(
    request: HttpRequest,
    return_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    return _return_out(_pes_return(_organisation_id(request), return_id))


@router.get(
    "/legality/pes/returns/{return_id}/file",
    auth=READ,
    response={**VALIDATION, **errors(401, 403, 404)},
    operation_id="get_pes_return_file",
    summary="The return's file, as the treasury sent it (marks it read)",
    description="Every download is recorded on the member's audit chain.",
    openapi_extra={
        "responses": {
            200: {
                "description": "The PES_Retour (XML).",
                "content": {"text/xml": {"schema": {"type": "string"}}},
            }
        }
    },
)
def get_pes_return_file(
    request: HttpRequest,
    return_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> HttpResponseBase:
    actor = _actor(request)
    retour = _pes_return(actor.organisation_id, return_id)
    pes_inbox.record_download(actor=actor, retour_id=retour.pk, request_context=_context(request))
    response = serve_file(request, retour.file, public=False)
    response["Cache-Control"] = "private, no-store"
    return response


# --- The operator's monitoring ----------------------------------------------------------

# The threshold of the back office's page (``backoffice.legality_views``): sent, and not
# acknowledged after it, a transmission is late.
UNACKNOWLEDGED_AFTER = crossings.UNACKNOWLEDGED_AFTER


class PesMonitoringOut(Schema):
    waiting: int = Field(description="Flows signed, waiting for the treasury's gateway.")
    retrying: int = Field(description="Of those, flows the gateway did not take yet.")
    sent_unacknowledged: int = Field(description="Sent, not acknowledged after 4 hours.")
    errors: int = Field(description="Flows that could not be sent.")
    quarantined: int = Field(description="Files of the gateway's outbox in quarantine.")
    returns_unacknowledged: int = Field(
        description="Returns whose PES_ACQUIT_RETOUR has not left yet."
    )
    returns_ack_errors: int = Field(description="Returns whose PES_ACQUIT_RETOUR failed.")


class MonitoringOut(Schema):
    measured_at: datetime
    unacknowledged_after_hours: int = Field(4, description="The threshold of lateness.")
    sending: str = Field(
        examples=["open"],
        description="Whether acts are sent now: `open`, `switched_off` (the endpoint marked"
        " unavailable), `not_configured`, `window_closed`.",
    )
    waiting: int = Field(description="Acts waiting to be sent.")
    retrying: int = Field(description="Of those, acts whose sending is being retried.")
    sent_unacknowledged: int = Field(description="Acts sent, not acknowledged after 4 hours.")
    errors: int = Field(description="Acts in error.")
    quarantined: int = Field(description="Messages of the return channel in quarantine.")
    attempts_last_hour: int
    failed_attempts_last_hour: int
    pes: PesMonitoringOut


def _require_operator(request: HttpRequest) -> None:
    """The caller is a client of the operator's own organisation (the one organisation
    of kind ``operator``; ``MUTUALIS_OPERATOR_SLUG`` is its address), as operator staff
    are for the back office. Any other client, a member's or a company's, is refused."""
    caller = request.auth  # type: ignore[attr-defined]
    if (
        not isinstance(caller, ApiCaller)
        or caller.organisation_id is None
        or not Organisation.objects.filter(
            pk=caller.organisation_id, kind=OrganisationKind.OPERATOR
        ).exists()
    ):
        raise ApiError(
            403,
            "permission_denied",
            _("Only a client of the operator's organisation reads the monitoring."),
        )


@router.get(
    "/legality/monitoring",
    auth=READ,
    response={200: MonitoringOut, **errors(401, 403)},
    operation_id="get_legality_monitoring",
    summary="The operator's monitoring of the transmissions (acts and PES)",
    description=(
        "The figures of the back office's monitoring page, over every member: acts and"
        " PES flows waiting (and being retried), sent but not acknowledged after four"
        " hours, in error; the return channels' quarantines; attempts of the last hour;"
        " whether sending is open. Only for an API client bound to the operator's"
        " organisation (`api:read`); any other client gets 403."
    ),
)
def get_legality_monitoring(request: HttpRequest) -> dict[str, Any]:
    _require_operator(request)
    now = timezone.now()
    figures = crossings.monitoring(now, UNACKNOWLEDGED_AFTER)
    return {
        **dataclasses.asdict(figures),
        "measured_at": now,
        "unacknowledged_after_hours": int(UNACKNOWLEDGED_AFTER.total_seconds() // 3600),
        "sending": transmission.closed_reason(now) or "open",
    }
