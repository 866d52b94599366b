"""The deposit API, ``/api/v1/deposits`` (docs/adr/0008-sealed-deposits.md, "Deposit
API"): a company's representative in the browser (session cookie, CSRF token in the
``X-CSRFToken`` header) or an API client bound to a company (bearer token) starts a
deposit, declares its files, sends their age ciphertext in raw chunks and completes it.

Thin: every rule is in ``services.py``. A deposit of another company, like one that does
not exist, is 404 on every call. Every POST and PUT needs an ``Idempotency-Key``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Annotated, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Router, Schema
from ninja.responses import Status
from ninja.security import APIKeyCookie

from mutualis.companies import crossings as company_crossings
from mutualis.core import audit
from mutualis.core.api import VALIDATION, ApiError, ErrorOut, errors, idempotency
from mutualis.core.api import api as platform_api
from mutualis.core.files.download import serve_file
from mutualis.core.models import StoredFile
from mutualis.identity.api_clients import READ, WRITE, ApiCaller

from . import errors as deposit_errors
from . import log_sections, services
from .models import Deposit, DepositFile, FileKind, Phase

router = Router(tags=["deposits"])

# A deposit's reference ("D" + the day + 10 characters): the pattern keeps a path such as
# /deposits/consultations/… from being read as a deposit's.
DepositReference = Annotated[
    str, Path(pattern=r"^D[-0-9A-Z]{1,31}$", description="The deposit's reference.")
]

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _no_forms(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse a form body (415) before anything reads it: the CSRF check would parse a
    multipart body, and the JSON of the operation could then no longer be read."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("POST", "PUT") and request.content_type in FORM_TYPES:
            return platform_api.on_exception(request, deposit_errors.FormBodyRefused())
        return run(request, *args, **kwargs)

    return wrapper


router.add_decorator(_no_forms, mode="view")


class RepresentativeSession(APIKeyCookie):
    """The browser's session (and, on unsafe methods, its CSRF token): the signed-in
    person; which company they act for is checked per call."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


SESSION = RepresentativeSession()
READERS = [READ, SESSION]
WRITERS = [WRITE, SESSION]

IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": True,
            "description": (
                "1 to 100 printable ASCII characters, new for each distinct request: the"
                " same key again gives the first answer and changes nothing."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": 100},
        }
    ]
}


# --- Who calls ---------------------------------------------------------------------------


def _representations(request: HttpRequest) -> list[Any]:
    return list(company_crossings.representations_of_user(request.user))


def _company_ids(request: HttpRequest) -> list[int]:
    caller = request.auth  # type: ignore[attr-defined]
    if isinstance(caller, ApiCaller):
        if caller.company_id is None:
            raise deposit_errors.NotCompanyClient()
        return [caller.company_id]
    return [r.company_id for r in _representations(request)]


def _depositor_of(request: HttpRequest, company_id: int) -> services.Depositor:
    caller = request.auth  # type: ignore[attr-defined]
    if isinstance(caller, ApiCaller):
        if caller.company_id != company_id:
            raise deposit_errors.DepositNotFound()
        return services.Depositor(company_id=company_id, api_client_id=caller.client_id)
    for representation in _representations(request):
        if representation.company_id == company_id:
            return services.Depositor(company_id=company_id, representative=representation)
    raise deposit_errors.DepositNotFound()


def _deposit(request: HttpRequest, reference: str) -> tuple[services.Depositor, Deposit]:
    deposit = services.deposit_of(_company_ids(request), reference)
    return _depositor_of(request, deposit.company_id), deposit


def _key(request: HttpRequest) -> str:
    # The platform's one check of the header (mutualis.core.api.idempotency). The key is
    # then kept on the row the write creates, in the write's own transaction
    # (services.start_deposit, services.add_file), so a crash leaves no claim behind:
    # the shared claim table is not needed here.
    return idempotency.key_of(request)


def _context(request: HttpRequest) -> dict[str, Any]:
    return audit.request_context(request)


# --- Shapes ------------------------------------------------------------------------------


class LotOut(Schema):
    id: int
    number: int
    title: str


class ConsultationInfoOut(Schema):
    consultation: int
    reference: str
    title: str
    recipient: str = Field(description="The consultation's age X25519 recipient (`age1…`).")
    deadline: datetime = Field(
        description="Deadline for responses (the server's clock): for applications on the"
        " first consultation of a procedure in two phases, for offers in its offer phase."
    )
    phase: Phase = Field(description="What this consultation's deposits are.")
    parent: int | None = Field(
        description="The offer phase's first consultation (the one applications went to)."
    )
    server_time: datetime = Field(description="The server's clock now.")
    is_late: bool = Field(description="Whether a deposit completed now would be late.")
    lots: list[LotOut]
    accepted_types: list[str] = Field(description="File extensions accepted (advisory).")
    max_file_bytes: int
    max_deposit_bytes: int
    max_chunk_bytes: int


class FileOut(Schema):
    id: int
    name: str
    content_type: str
    kind: FileKind
    plaintext_size: int
    plaintext_sha256: str
    ciphertext_size: int
    received_size: int
    complete: bool


class DepositOut(Schema):
    reference: str
    state: str
    consultation: int
    lot: int | None
    phase: str
    company: str = Field(description="The company's SIREN.")
    started_at: datetime
    received_at: datetime | None
    late: bool
    backup_copy_announced: bool
    files: list[FileOut]


class AcknowledgementOut(Schema):
    reference: str
    state: str
    received_at: datetime
    late: bool
    receipt: dict[str, Any] = Field(description="The acknowledgement document (ADR 0008).")
    receipt_digest: str = Field(description="SHA-256 (hex) of the receipt's canonical JSON.")
    timestamp_token: str = Field(description="RFC 3161 token over the digest, base64 DER.")


class ChunkOut(Schema):
    received_size: int
    ciphertext_size: int
    complete: bool


class OffsetConflictOut(ErrorOut):
    received_size: int = Field(description="The offset the next chunk must start at.")


class DepositIn(Schema):
    consultation: int = Field(ge=1, le=2**31 - 1)
    lot: int | None = Field(None, ge=1, le=2**31 - 1)
    phase: Phase | None = Field(
        None,
        description="“application” on the first consultation of a procedure in two phases"
        " (restricted…), “offer” everywhere else (its offer phase included); omitted, the"
        " consultation's. Another is refused.",
    )
    company: str | None = Field(
        None,
        pattern=r"^[0-9]{9}$",
        description="SIREN of the company that deposits: required when the signed-in"
        " person represents several.",
    )
    backup_copy_announced: bool = Field(
        False,
        description="The company sends a backup copy separately (on paper, on a medium or"
        " electronically) before the deadline; the buyer records its reception.",
    )


class FileIn(Schema):
    name: str = Field(min_length=1, max_length=1000)
    content_type: str = Field("", max_length=1000)
    kind: FileKind = FileKind.OFFER
    plaintext_size: int = Field(ge=1, le=2**62)
    plaintext_sha256: str = Field(min_length=1, max_length=1000)
    ciphertext_size: int = Field(ge=1, le=2**62)


def _file_out(found: DepositFile) -> dict[str, Any]:
    return {
        "id": found.pk,
        "name": found.name,
        "content_type": found.content_type,
        "kind": found.kind,
        "plaintext_size": found.plaintext_size,
        "plaintext_sha256": found.plaintext_sha256,
        "ciphertext_size": found.ciphertext_size,
        "received_size": found.received_size,
        "complete": found.received_size == found.ciphertext_size,
    }


def _deposit_out(deposit: Deposit) -> dict[str, Any]:
    return {
        "reference": deposit.reference,
        "state": deposit.state,
        "consultation": deposit.consultation_id,
        "lot": deposit.lot_id,
        "phase": deposit.phase,
        "company": deposit.company.siren,
        "started_at": deposit.started_at,
        "received_at": deposit.received_at,
        "late": deposit.late,
        "backup_copy_announced": deposit.backup_copy_announced,
        "files": [_file_out(f) for f in services.files_of(deposit)],
    }


def _acknowledgement_out(deposit: Deposit) -> dict[str, Any]:
    return {
        "reference": deposit.reference,
        "state": deposit.state,
        "received_at": deposit.received_at,
        "late": deposit.late,
        "receipt": deposit.receipt,
        "receipt_digest": deposit.receipt_digest,
        "timestamp_token": base64.b64encode(bytes(deposit.timestamp_token or b"")).decode(),
    }


# --- Operations --------------------------------------------------------------------------


@router.get(
    "/deposits/consultations/{consultation_id}",
    url_name="deposits_consultation_info",
    auth=READERS,
    response={200: ConsultationInfoOut, **errors(401, 403, 404), **VALIDATION},
)
def consultation_info(request: HttpRequest, consultation_id: int) -> Any:
    """What a client needs to deposit on a consultation: its opening public key (encrypt
    every file to it with age), deadline, server time, lots, accepted types and limits."""
    company_ids = _company_ids(request)
    if not company_ids:
        raise deposit_errors.DepositNotFound()
    if not 0 < consultation_id < 2**31:
        raise deposit_errors.DepositNotFound()
    try:
        info = services.consultation_info(consultation_id, company_ids)
    except deposit_errors.ConsultationNotOpen as exc:
        raise deposit_errors.DepositNotFound() from exc
    consultation = info.consultation
    now = services.now()
    return {
        "consultation": consultation.pk,
        "reference": consultation.reference,
        "title": consultation.title,
        "recipient": info.recipient,
        "deadline": consultation.response_deadline,
        "phase": services.phase_of(consultation),
        "parent": consultation.parent_id,
        "server_time": now,
        "is_late": now >= consultation.response_deadline,
        "lots": [{"id": lot.pk, "number": lot.number, "title": lot.title} for lot in info.lots],
        "accepted_types": list(services.ACCEPTED_EXTENSIONS),
        "max_file_bytes": services.max_file_bytes(),
        "max_deposit_bytes": services.max_deposit_bytes(),
        "max_chunk_bytes": services.MAX_CHUNK_BYTES,
    }


@router.post(
    "/deposits",
    url_name="deposits_start",
    auth=WRITERS,
    response={200: DepositOut, 201: DepositOut, **errors(401, 403, 404, 409, 415), **VALIDATION},
    openapi_extra=IDEMPOTENCY_HEADER,
)
def start_deposit(request: HttpRequest, payload: DepositIn) -> Any:
    """Start a deposit (201), or find the one this Idempotency-Key started (200)."""
    key = _key(request)
    if isinstance(request.auth, ApiCaller):  # type: ignore[attr-defined]
        company_id = _company_ids(request)[0]
        if payload.company is not None and payload.company != _siren_of(company_id):
            raise deposit_errors.DepositNotFound()
    else:
        representations = _representations(request)
        if payload.company is not None:
            chosen = [r for r in representations if r.company.siren == payload.company]
        elif len(representations) > 1:
            raise deposit_errors.CompanyRequired()
        else:
            chosen = representations
        if not chosen:
            raise deposit_errors.NotRepresentative()
        company_id = chosen[0].company_id
    depositor = _depositor_of(request, company_id)
    deposit, created = services.start_deposit(
        depositor,
        consultation_id=payload.consultation,
        lot_id=payload.lot,
        phase=payload.phase or "",
        idempotency_key=key,
        backup_copy_announced=payload.backup_copy_announced,
        context=_context(request),
    )
    deposit = services.deposit_of([company_id], deposit.reference)
    return Status(201 if created else 200, _deposit_out(deposit))


def _siren_of(company_id: int) -> str:
    from mutualis.companies.models import Company

    return Company.objects.only("siren").get(pk=company_id).siren


@router.get(
    "/deposits/{reference}",
    url_name="deposits_deposit",
    auth=READERS,
    response={200: DepositOut, **errors(401, 403, 404), **VALIDATION},
)
def get_deposit(request: HttpRequest, reference: DepositReference) -> Any:
    """A deposit, its state and its files (``received_size`` to resume each)."""
    _depositor, deposit = _deposit(request, reference)
    return _deposit_out(deposit)


@router.post(
    "/deposits/{reference}/files",
    url_name="deposits_files",
    auth=WRITERS,
    response={200: FileOut, 201: FileOut, **errors(401, 403, 404, 409, 415), **VALIDATION},
    openapi_extra=IDEMPOTENCY_HEADER,
)
def add_file(request: HttpRequest, reference: DepositReference, payload: FileIn) -> Any:
    """Declare a file (its plaintext's name, type, size and SHA-256, its ciphertext's
    size) before sending its ciphertext."""
    key = _key(request)
    depositor, deposit = _deposit(request, reference)
    found, created = services.add_file(
        depositor,
        deposit,
        services.FileDeclaration(
            name=payload.name,
            content_type=payload.content_type,
            kind=payload.kind,
            plaintext_size=payload.plaintext_size,
            plaintext_sha256=payload.plaintext_sha256,
            ciphertext_size=payload.ciphertext_size,
        ),
        idempotency_key=key,
        context=_context(request),
    )
    return Status(201 if created else 200, _file_out(found))


def _file(request: HttpRequest, reference: str, file_id: int) -> DepositFile:
    _depositor, deposit = _deposit(request, reference)
    if not 0 < file_id < 2**31:
        raise deposit_errors.DepositNotFound()
    return services.file_of(deposit, file_id)


@router.get(
    "/deposits/{reference}/files/{file_id}",
    url_name="deposits_file",
    auth=READERS,
    response={200: FileOut, **errors(401, 403, 404), **VALIDATION},
)
def get_file(request: HttpRequest, reference: DepositReference, file_id: int) -> Any:
    """A file and how much of its ciphertext arrived (``received_size``: the offset to
    resume at)."""
    return _file_out(_file(request, reference, file_id))


@router.api_operation(
    ["HEAD"],
    "/deposits/{reference}/files/{file_id}",
    url_name="deposits_file_head",
    auth=READERS,
    response={200: None, **errors(401, 403, 404), **VALIDATION},
)
def head_file(request: HttpRequest, reference: DepositReference, file_id: int) -> Any:
    """How much of the file's ciphertext arrived, in headers: ``Upload-Offset`` (the
    offset to resume at) and ``Upload-Length`` (the declared ciphertext size)."""
    found = _file(request, reference, file_id)
    response = HttpResponse(status=200)
    response["Upload-Offset"] = str(found.received_size)
    response["Upload-Length"] = str(found.ciphertext_size)
    response["Cache-Control"] = "no-store"
    return response


CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "description": "The next bytes of the age ciphertext (at most 16 MiB).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    **IDEMPOTENCY_HEADER,
}


@router.put(
    "/deposits/{reference}/files/{file_id}/content",
    url_name="deposits_chunk",
    auth=WRITERS,
    response={
        200: ChunkOut,
        409: OffsetConflictOut,
        **errors(401, 403, 404, 411, 415),
        **VALIDATION,
    },
    openapi_extra=CHUNK_BODY,
)
def put_chunk(request: HttpRequest, reference: DepositReference, file_id: int, offset: int) -> Any:
    """Send the ciphertext's bytes from ``offset`` (which must be the file's
    ``received_size``) as the raw request body. A chunk sent again with the same bytes
    is answered 200 and changes nothing; any other offset 409 with the expected one."""
    _key(request)
    depositor, deposit = _deposit(request, reference)
    if not 0 < file_id < 2**31:
        raise deposit_errors.DepositNotFound()
    if request.content_type != "application/octet-stream":
        raise deposit_errors.NotRawBody()
    length = _content_length(request)
    if not 0 <= offset < 2**62:
        raise deposit_errors.InvalidChunk()
    try:
        found = services.receive_chunk(
            depositor, deposit, file_id, offset=offset, length=length, stream=request
        )
    except deposit_errors.UnexpectedOffset as exc:
        return Status(409, exc.as_dict())
    return {
        "received_size": found.received_size,
        "ciphertext_size": found.ciphertext_size,
        "complete": found.received_size == found.ciphertext_size,
    }


def _content_length(request: HttpRequest) -> int:
    raw = request.META.get("CONTENT_LENGTH") or ""
    if not raw.isdigit():
        raise deposit_errors.LengthRequired()
    length = int(raw)
    if not 0 < length <= services.MAX_CHUNK_BYTES:
        raise deposit_errors.InvalidChunk()
    return length


@router.post(
    "/deposits/{reference}/complete",
    url_name="deposits_complete",
    auth=WRITERS,
    response={200: AcknowledgementOut, **errors(401, 403, 404, 409, 415), **VALIDATION},
    openapi_extra=IDEMPOTENCY_HEADER,
)
def complete(request: HttpRequest, reference: DepositReference) -> Any:
    """Complete the deposit once every file has arrived: the files are made durable,
    their age header checked, and the acknowledgement time-stamped. Again: the same
    acknowledgement."""
    _key(request)
    depositor, deposit = _deposit(request, reference)
    deposit = services.complete(depositor, deposit, context=_context(request))
    return _acknowledgement_out(deposit)


@router.post(
    "/deposits/{reference}/withdraw",
    url_name="deposits_withdraw",
    auth=WRITERS,
    response={200: DepositOut, **errors(401, 403, 404, 409, 415), **VALIDATION},
    openapi_extra=IDEMPOTENCY_HEADER,
)
def withdraw(request: HttpRequest, reference: DepositReference) -> Any:
    """Withdraw the deposit, before the deadline only (it is kept, marked withdrawn)."""
    _key(request)
    depositor, deposit = _deposit(request, reference)
    services.withdraw(depositor, deposit, context=_context(request))
    return _deposit_out(services.deposit_of([deposit.company_id], reference))


@router.get(
    "/deposits/{reference}/receipt.pdf",
    url_name="deposits_receipt_pdf",
    auth=READERS,
    response={200: None, **errors(401, 403, 404), **VALIDATION},
    openapi_extra={
        "responses": {
            200: {
                "description": "The receipt, a PDF signed by the platform (PAdES).",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def receipt_pdf(request: HttpRequest, reference: DepositReference) -> Any:
    """The deposit's signed receipt (PDF), once the background job has made it: 404
    ``receipt_not_ready`` until then."""
    _depositor, deposit = _deposit(request, reference)
    if deposit.receipt_pdf_id is None:
        raise deposit_errors.ReceiptNotReady()
    stored = StoredFile.objects.get(pk=deposit.receipt_pdf_id)
    response = serve_file(request, stored, public=False)
    response["Cache-Control"] = "private, no-store"
    return response


@router.get(
    "/deposits/{reference}/proof",
    url_name="deposits_proof",
    auth=READERS,
    response={200: dict[str, Any], **errors(401, 403, 404, 409), **VALIDATION},
    openapi_extra={
        "responses": {
            200: {
                "description": (
                    "The deposit's inclusion proof in the published deposit log: leaf index,"
                    " tree size, audit path (RFC 6962 hashing), root and the root's RFC 3161"
                    " token (base64). Check it offline with scripts/verify_inclusion.py."
                )
            },
            409: {"description": "The deposit's log section is not closed yet."},
        }
    },
)
def deposit_proof(request: HttpRequest, reference: DepositReference) -> Any:
    """The inclusion proof, once the deposit's section of the log has been closed (after
    the deadline, or at the opening for a late deposit): 409 before."""
    _depositor, deposit = _deposit(request, reference)
    try:
        return log_sections.inclusion_proof(deposit)
    except log_sections.ProofError as error:
        raise ApiError(409, error.code, str(error.message)) from None
