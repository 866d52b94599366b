"""Writes of the consultations by a member's software, on the consultations' router
(``api.py``): an API client bound to the member organisation, with the
``procurement:write`` scope, drafts a consultation, changes the draft, adds files to it,
schedules or publishes it, and rectifies it once published.

Each operation validates its input with the buyer's own form (``forms.py``,
``document_forms.py``: the same limits, the same CPV, deadline and choice checks) and
calls the buyer's own service (``services.py``, ``documents.py``, ``rectifications.py``):
the same rules, the same transition table, one event on the member's audit chain, as
``system:api_client:<client id>``. Each needs an ``Idempotency-Key``
(:mod:`mutualis.core.api.idempotency`). A consultation of another member, an offer phase
or a negotiation round (the procedure's own steps, made by the buyer's pages), like one
that does not exist, is 404.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial, wraps
from typing import Any

from django import forms as django_forms
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, File, Path, Schema, Status, UploadedFile
from ninja.errors import ValidationError
from pydantic import AwareDatetime

from mutualis.core import audit
from mutualis.core.api import VALIDATION, ApiError, errors, idempotency
from mutualis.core.links import absolute_url
from mutualis.identity.api_clients import PROCUREMENT_WRITE, ApiCaller
from mutualis.identity.models import ApiClient

from . import documents, rectifications, search, services
from .api import router
from .api_documents import DocumentOut, document_out
from .document_forms import RectificationForm, uploads_of
from .forms import ConsultationForm, ScheduleForm
from .models import PUBLIC_STATES, Consultation, State

MAX_ID = search.MAX_ID
WRITE_ERRORS = {**VALIDATION, **errors(401, 403, 404, 409)}


@dataclasses.dataclass(frozen=True)
class ClientBuyer(audit.SystemActor):
    """The member's software acting as its buyer: an API client bound to the organisation
    with the ``procurement:write`` scope. The operator registered it for the member, and
    its scope is its right: the services' role check (``require_role``) finds the buyer's
    role while the client is still active and the member's, read again at each call (a
    client switched off a moment ago no longer acts). The subscription is the services'
    own check. Recorded on the chain as ``system:api_client:<client id>``."""

    client_id: str = ""
    organisation_id: int = 0

    @classmethod
    def of(cls, client_id: str, organisation_id: int) -> ClientBuyer:
        return cls(f"api_client:{client_id}", client_id, organisation_id)

    @property
    def is_active(self) -> bool:
        return True

    @property
    def user(self) -> None:
        return None

    def role_codes(self) -> set[str]:
        active = ApiClient.objects.filter(
            client_id=self.client_id, organisation_id=self.organisation_id, is_active=True
        ).exists()
        return {services.BUYER} if active else set()


# --- Shapes ------------------------------------------------------------------------------

TEXT = "Text; at most %d characters."


class ConsultationIn(Schema):
    """A consultation as the buyer's form takes it; a deadline is an instant with its
    offset (`2027-03-28T12:00:00+02:00`), kept to the minute."""

    reference: str = Field(min_length=1, max_length=50, description="Internal reference.")
    title: str = Field(min_length=1, max_length=200)
    object: str = Field(min_length=1, max_length=1000)
    description: str = Field("", max_length=10_000, description="Simple HTML is kept.")
    procedure: str = Field(max_length=40, description="As `procedure` of the search.")
    category: str = Field(max_length=40, description="`works`, `supplies` or `services`.")
    contract_nature: str = Field("contract", max_length=40)
    main_cpv: str = Field(max_length=12, description="A CPV code, e.g. `45000000-7`.")
    additional_cpv: list[str] = Field(default_factory=list, max_length=40)
    place_of_execution: str = Field("", max_length=200)
    estimated_value: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    questions_deadline: AwareDatetime
    response_deadline: AwareDatetime
    signature_required: bool = False
    contact: str = Field(min_length=1, max_length=1000)
    ccag: str = Field("", max_length=40)
    techniques: list[str] = Field(default_factory=list, max_length=20)
    execution_modes: list[str] = Field(default_factory=list, max_length=20)
    price_types: list[str] = Field(default_factory=list, max_length=20)
    price_form: str = Field("", max_length=40)
    social_considerations: list[str] = Field(default_factory=list, max_length=20)
    environmental_considerations: list[str] = Field(default_factory=list, max_length=20)
    innovative: bool = False
    advance_payment: bool = False
    duration_months: int | None = Field(None, ge=1, le=1200)


class ConsultationPatch(Schema):
    """The fields to change; those left out keep their value."""

    reference: str | None = Field(None, min_length=1, max_length=50)
    title: str | None = Field(None, min_length=1, max_length=200)
    object: str | None = Field(None, min_length=1, max_length=1000)
    description: str | None = Field(None, max_length=10_000)
    procedure: str | None = Field(None, max_length=40)
    category: str | None = Field(None, max_length=40)
    contract_nature: str | None = Field(None, max_length=40)
    main_cpv: str | None = Field(None, max_length=12)
    additional_cpv: list[str] | None = Field(None, max_length=40)
    place_of_execution: str | None = Field(None, max_length=200)
    estimated_value: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    questions_deadline: AwareDatetime | None = None
    response_deadline: AwareDatetime | None = None
    signature_required: bool | None = None
    contact: str | None = Field(None, min_length=1, max_length=1000)
    ccag: str | None = Field(None, max_length=40)
    techniques: list[str] | None = Field(None, max_length=20)
    execution_modes: list[str] | None = Field(None, max_length=20)
    price_types: list[str] | None = Field(None, max_length=20)
    price_form: str | None = Field(None, max_length=40)
    social_considerations: list[str] | None = Field(None, max_length=20)
    environmental_considerations: list[str] | None = Field(None, max_length=20)
    innovative: bool | None = None
    advance_payment: bool | None = None
    duration_months: int | None = Field(None, ge=1, le=1200)


class ScheduleIn(Schema):
    publish_at: AwareDatetime = Field(
        description="When the consultation is published, before its deadline for questions."
    )


class RectificationIn(Schema):
    """What a rectification changes: the fields given (the others are kept), the
    deadlines given, the files withdrawn."""

    summary: str = Field(min_length=1, max_length=2000, description="Published.")
    title: str | None = Field(None, min_length=1, max_length=200)
    object: str | None = Field(None, min_length=1, max_length=1000)
    description: str | None = Field(None, max_length=10_000)
    place_of_execution: str | None = Field(None, max_length=200)
    contact: str | None = Field(None, min_length=1, max_length=1000)
    questions_deadline: AwareDatetime | None = None
    response_deadline: AwareDatetime | None = None
    withdraw: list[int] = Field(
        default_factory=list, max_length=100, description="Identifiers of current files."
    )


class ConsultationWriteOut(Schema):
    id: int
    reference: str
    title: str
    state: State
    version: int
    publish_at: datetime | None = Field(description="The planned publication (scheduled).")
    published_at: datetime | None
    questions_deadline: datetime
    response_deadline: datetime
    updated_at: datetime
    url: str | None = Field(description="Its public page, once published.")
    documents: list[DocumentOut] = Field(description="The current files.")


class RectificationOut(Schema):
    number: int
    version: int
    published_at: datetime
    summary: str
    deadlines_moved: bool
    consultation: ConsultationWriteOut


# --- Helpers -----------------------------------------------------------------------------


def _actor(request: HttpRequest) -> ClientBuyer:
    caller = request.auth  # type: ignore[attr-defined]
    if not isinstance(caller, ApiCaller) or caller.organisation_id is None:
        raise ApiError(
            403,
            "permission_denied",
            _("Only a client of a member organisation writes consultations."),
        )
    return ClientBuyer.of(caller.client_id, caller.organisation_id)


def _own(request: HttpRequest, consultation_id: int) -> Consultation:
    """The caller's member's consultation (read in its scope, entered by the API), or
    404: an offer phase or a negotiation round is the procedure's, not a program's."""
    found = (
        Consultation.objects.filter(
            pk=consultation_id,
            organisation_id=_actor(request).organisation_id,
            parent__isnull=True,
        )
        .select_related("organisation")
        .first()
    )
    if found is None:
        raise ApiError(404, "not_found", _("There is no such object."))
    return found


def _context(request: HttpRequest) -> dict[str, Any]:
    return dict(audit.request_context(request))


def _checked(form: django_forms.Form) -> None:
    """The form's refusals in the API's shape (422, one entry per field)."""
    if form.is_valid():
        return
    entries = [
        {"type": error.code or "invalid", "msg": " ".join(error.messages), "loc": loc}
        for field, found in form.errors.as_data().items()
        for error in found
        for loc in [("body", "payload") if field == "__all__" else ("body", "payload", field)]
    ]
    raise ValidationError(entries)


def _form_data(values: dict[str, Any]) -> dict[str, Any]:
    """JSON values as the form reads them: CPV codes in one text, a null left out (an
    empty field)."""
    data = dict(values)
    if isinstance(data.get("additional_cpv"), list):
        data["additional_cpv"] = ", ".join(data["additional_cpv"])
    return {name: value for name, value in data.items() if value is not None}


def consultation_out(consultation: Consultation) -> dict[str, Any]:
    public = consultation.state in PUBLIC_STATES
    url = reverse("consultations:detail", kwargs={"pk": consultation.pk})
    return {
        "id": consultation.pk,
        "reference": consultation.reference,
        "title": consultation.title,
        "state": consultation.state,
        "version": consultation.version,
        "publish_at": consultation.publish_at,
        "published_at": consultation.published_at,
        "questions_deadline": consultation.questions_deadline,
        "response_deadline": consultation.response_deadline,
        "updated_at": consultation.updated_at,
        "url": absolute_url(url) if public else None,
        "documents": [
            document_out(d, public=public) for d in documents.current_documents(consultation)
        ],
    }


# --- What every write shares -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Write:
    """What an operation has the platform do, once it has checked its request (the
    consultation, the form: before the key is claimed, so that a refused request leaves
    the key free): the request as the key's hash sees it; the buyer's use case, called
    with the client's buyer, the path's consultation and the request's audit context;
    and the answer made of its result (by default, the consultation as it now is)."""

    body: Any
    use_case: Callable[..., Any]
    answer: Callable[[Any], Any] | None = None


def _write(
    method: str,
    path: str,
    *,
    status: int,
    out: Any,
    operation_id: str,
    summary: str,
    description: str,
    key_operation: str = "",
) -> Callable[[Callable[..., Write]], Callable[..., Status[Any]]]:
    """Register a write of the member's software on the consultations' router: in its
    document, the ``procurement:write`` scope, the ``Idempotency-Key`` header and the
    write errors. At each call, the caller is checked first (a client of a member
    organisation, else 403), then the operation's own checks run, then its use case once
    per key (:func:`mutualis.core.api.idempotency.once`, under ``key_operation``, by
    default the ``operation_id``)."""

    def register(prepare: Callable[..., Write]) -> Callable[..., Status[Any]]:
        # Django Ninja reads the parameters from ``prepare``'s signature (``wraps``).
        @wraps(prepare)
        def operation(request: HttpRequest, **params: Any) -> Status[Any]:
            actor = _actor(request)
            write = prepare(request, **params)
            target = params.get("consultation_id")
            on = {} if target is None else {"consultation_id": target}

            def run() -> Any:
                result = write.use_case(actor=actor, **on, request_context=_context(request))
                if write.answer is not None:
                    return write.answer(result)
                return consultation_out(_own(request, result.pk))

            return idempotency.once(
                request,
                operation=key_operation or operation_id,
                target=target,
                body=write.body,
                run=run,
                status=status,
            )

        route = getattr(router, method)
        return route(  # type: ignore[no-any-return]
            path,
            auth=PROCUREMENT_WRITE,
            response={status: out, **WRITE_ERRORS},
            operation_id=operation_id,
            summary=summary,
            description=f"{description} Needs `procurement:write` and an `Idempotency-Key`.",
            openapi_extra=idempotency.OPENAPI,
        )(operation)

    return register


# --- Operations --------------------------------------------------------------------------


@_write(
    "post",
    "/consultations",
    status=201,
    out=ConsultationWriteOut,
    operation_id="create_consultation",
    summary="Draft a consultation",
    description=(
        "As the buyer's page: a new draft of the member, checked by the buyer's form"
        " (limits, CPV codes, deadlines, choices)."
    ),
)
def create_consultation(request: HttpRequest, payload: ConsultationIn) -> Write:
    form = ConsultationForm(_form_data(payload.dict()))
    _checked(form)
    return Write(payload.dict(), partial(services.create_consultation, data=form.to_input()))


@_write(
    "patch",
    "/consultations/{consultation_id}",
    status=200,
    out=ConsultationWriteOut,
    operation_id="update_consultation",
    summary="Change a draft consultation",
    description=(
        "As the buyer's page: the fields given change, the others keep their value; the"
        " whole is checked again by the buyer's form. A draft only (a scheduled one is"
        " unscheduled on the buyer's page first)."
    ),
)
def update_consultation(
    request: HttpRequest,
    payload: ConsultationPatch,
    consultation_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Write:
    consultation = _own(request, consultation_id)
    given = payload.dict(exclude_unset=True)
    # A null given clears the field (a required one is then refused by the form).
    form = ConsultationForm(_form_data({**ConsultationForm.initial_of(consultation), **given}))
    _checked(form)
    return Write(given, partial(services.update_consultation, data=form.to_input()))


def _digest(upload: UploadedFile) -> str:
    sha = hashlib.sha256()
    for chunk in upload.chunks():
        sha.update(chunk)
    upload.seek(0)
    return sha.hexdigest()


@_write(
    "post",
    "/consultations/{consultation_id}/documents",
    status=201,
    out=list[DocumentOut],
    operation_id="add_consultation_documents",
    key_operation="add_documents",
    summary="Add files to a draft consultation",
    description=(
        "As the buyer's page: one or more files (`multipart/form-data`, field `files`),"
        " stored all or none. The type is read from the bytes; programs, scripts,"
        " disguised types and hostile archives are refused, and the sizes are limited."
    ),
)
def add_consultation_documents(
    request: HttpRequest,
    files: File[list[UploadedFile]],
    consultation_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Write:
    _own(request, consultation_id)
    return Write(
        [{"name": f.name or "", "size": f.size, "sha256": _digest(f)} for f in files],
        partial(documents.add_documents, uploads=uploads_of(files)),
        answer=lambda added: [document_out(d, public=False) for d in added],
    )


@_write(
    "post",
    "/consultations/{consultation_id}/schedule",
    status=200,
    out=ConsultationWriteOut,
    operation_id="schedule_consultation",
    summary="Schedule the publication of a draft",
    description=(
        "As the buyer's page: checked as a publication is (deadlines to come, lots,"
        " criteria, CPV codes), published by the platform at `publish_at`."
    ),
)
def schedule_consultation(
    request: HttpRequest,
    payload: ScheduleIn,
    consultation_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Write:
    _own(request, consultation_id)
    form = ScheduleForm({"publish_at": payload.publish_at})
    _checked(form)
    publish_at = form.cleaned_data["publish_at"]
    return Write(payload.dict(), partial(services.schedule_consultation, publish_at=publish_at))


@_write(
    "post",
    "/consultations/{consultation_id}/publish",
    status=200,
    out=ConsultationWriteOut,
    operation_id="publish_consultation",
    summary="Publish a draft or scheduled consultation now",
    description=(
        "As the buyer's page: the publication's checks, then the consultation is public"
        " (portal, API, alerts)."
    ),
)
def publish_consultation(
    request: HttpRequest,
    consultation_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Write:
    _own(request, consultation_id)
    return Write({}, services.publish_consultation)


@_write(
    "post",
    "/consultations/{consultation_id}/rectifications",
    status=201,
    out=RectificationOut,
    operation_id="rectify_consultation",
    summary="Publish a rectification of a published consultation",
    description=(
        "As the buyer's page, before the deadline for responses: the summary (public),"
        " the fields and deadlines given, the files withdrawn; the consultation's version"
        " goes up by one and the notices list it."
    ),
)
def rectify_consultation(
    request: HttpRequest,
    payload: RectificationIn,
    consultation_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Write:
    consultation = _own(request, consultation_id)
    given = payload.dict(exclude_unset=True)
    initial = RectificationForm.initial_of(consultation)
    data = {
        **{name: initial[name] for name in rectifications.RECTIFIABLE_FIELDS},
        **{name: value for name, value in given.items() if value is not None},
    }
    current = list(documents.current_documents(consultation))
    form = RectificationForm(_form_data(data), {}, documents=current)
    _checked(form)

    def answer(rectification: Any) -> dict[str, Any]:
        return {
            "number": rectification.number,
            "version": rectification.version,
            "published_at": rectification.published_at,
            "summary": rectification.summary,
            "deadlines_moved": rectification.deadlines_moved,
            "consultation": consultation_out(_own(request, consultation_id)),
        }

    return Write(given, partial(rectifications.rectify_consultation, data=form.to_input()), answer)
