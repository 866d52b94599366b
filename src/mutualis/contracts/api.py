"""The API of awards and contracts (``/api/v1/awards…``, ``/api/v1/contracts…``),
attached to the platform's API by ``contracts/platform.py``.

- Public reads, no authentication: the change feeds of notified decisions and notified
  contracts (``public.py``: nothing of a draft decision, no rejected bidder's amount),
  cursor-paginated as the consultations' feed, and one of each by identifier.
- Writes by an API client bound to the member (``api:write``), calling the services the
  buyer's pages call: record a contract's signature, an amendment, an order under a
  framework agreement. Each needs an ``Idempotency-Key``: the same key with the same
  body gives the first answer again and changes nothing; with another body, 409. An
  award or contract of another member, like one that does not exist, is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from django_scopes import scope
from ninja import Field, Path, Query, Router, Schema, Status

from mutualis.core import audit
from mutualis.core.api import VALIDATION, ApiError, errors, idempotency
from mutualis.core.api.pagination import ChangeParams
from mutualis.identity.api_clients import WRITE, ApiCaller

from . import crossings, orders, records
from .actors import ClientActor
from .models import Amendment, Award, AwardOutcome, Contract, GroupingType, Order

router = Router(tags=["contracts"])

MAX_ID = 2**31 - 1
IDEMPOTENCY_HEADER = idempotency.OPENAPI
WRITE_ERRORS = {**VALIDATION, **errors(401, 403, 404, 409)}


# --- Shapes ------------------------------------------------------------------------------


class BuyerOut(Schema):
    slug: str
    name: str


class ConsultationRef(Schema):
    id: int
    reference: str
    title: str


class CompanyOut(Schema):
    siren: str
    name: str


class AwardOut(Schema):
    id: int
    buyer: BuyerOut
    consultation: ConsultationRef
    lot: int | None = Field(description="The lot's number; null: the whole consultation.")
    outcome: AwardOutcome
    winner: CompanyOut | None = Field(description="The company awarded (outcome `awarded`).")
    amount: Decimal | None = Field(description="The winner's amount excl. VAT, in euros.")
    reasons: str | None = Field(
        description="Why the lot or procedure is unsuccessful or discontinued (null when"
        " awarded: the rejection reasons are each bidder's own)."
    )
    offers_received: int
    notified_at: datetime
    standstill_ends_on: date | None
    state: str = Field(description="`notified`, `standstill_over`, `contracted` or `abandoned`.")
    updated_at: datetime


class AmendmentOut(Schema):
    number: int
    object: str
    notified_on: date
    new_amount: Decimal | None
    new_duration_months: int | None


class ContractOut(Schema):
    id: int
    reference: str
    award: int
    buyer: BuyerOut
    consultation: ConsultationRef
    lot: int | None
    holder: CompanyOut
    holder_siret: str
    grouping: GroupingType
    co_contractors: list[str] = Field(description="SIRETs.")
    subcontractors: list[str] = Field(description="SIRETs.")
    amount: Decimal
    duration_months: int
    framework_maximum: Decimal | None
    signed_on: date
    notified_at: datetime | None = Field(description="The holder's proof of receipt.")
    state: str
    started_on: date | None
    ended_on: date | None
    amendments: list[AmendmentOut]
    updated_at: datetime


class AwardChanges(Schema):
    results: list[AwardOut]
    has_more: bool
    next_cursor: str | None


class ContractChanges(Schema):
    results: list[ContractOut]
    has_more: bool
    next_cursor: str | None


class OrderOut(Schema):
    id: int
    contract: int
    number: str
    issued_on: date
    object: str
    amount: Decimal
    ordered_total: Decimal = Field(description="The contract's orders so far, this one included.")


class SignatureIn(Schema):
    reference: str = Field(min_length=1, max_length=16, description="The contract number.")
    holder_siret: str = Field(min_length=1, max_length=20)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    duration_months: int = Field(ge=1, le=1200)
    signed_on: date
    grouping: GroupingType = GroupingType.NONE
    co_contractors: list[str] = Field(default_factory=list, max_length=50)
    subcontractors: list[str] = Field(default_factory=list, max_length=50)
    framework_maximum: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)


class AmendmentIn(Schema):
    object: str = Field(min_length=1, max_length=1000)
    notified_on: date
    new_amount: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    new_duration_months: int | None = Field(None, ge=1, le=1200)


class OrderIn(Schema):
    number: str = Field(min_length=1, max_length=30)
    issued_on: date
    object: str = Field(min_length=1, max_length=1000)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


# --- Rendering ---------------------------------------------------------------------------


def _buyer(consultation: Any) -> dict[str, Any]:
    return {"slug": consultation.organisation.slug, "name": consultation.organisation.name}


def _consultation(consultation: Any) -> dict[str, Any]:
    return {"id": consultation.pk, "reference": consultation.reference, "title": consultation.title}


def _award_out(award: Award) -> dict[str, Any]:
    awarded = award.outcome == AwardOutcome.AWARDED
    return {
        "id": award.pk,
        "buyer": _buyer(award.consultation),
        "consultation": _consultation(award.consultation),
        "lot": award.lot.number if award.lot is not None else None,
        "outcome": award.outcome,
        "winner": {"siren": award.company.siren, "name": award.company.name}
        if awarded and award.company is not None
        else None,
        "amount": award.amount if awarded else None,
        "reasons": None if awarded else award.reasons,
        "offers_received": award.bidders,
        "notified_at": award.notified_at,
        "standstill_ends_on": award.standstill_ends_on,
        "state": award.state,
        "updated_at": award.updated_at,
    }


def _amendment_out(amendment: Amendment) -> dict[str, Any]:
    return {
        "number": amendment.number,
        "object": amendment.object,
        "notified_on": amendment.notified_on,
        "new_amount": amendment.new_amount,
        "new_duration_months": amendment.new_duration_months,
    }


def _contract_out(contract: Contract, amendments: list[Amendment]) -> dict[str, Any]:
    consultation = contract.award.consultation
    lot = contract.award.lot
    return {
        "id": contract.pk,
        "reference": contract.reference,
        "award": contract.award_id,
        "buyer": _buyer(consultation),
        "consultation": _consultation(consultation),
        "lot": lot.number if lot is not None else None,
        "holder": {"siren": contract.company.siren, "name": contract.company.name},
        "holder_siret": contract.holder_siret,
        "grouping": contract.grouping,
        "co_contractors": [p["siret"] for p in contract.co_contractors],
        "subcontractors": [p["siret"] for p in contract.subcontractors],
        "amount": contract.amount,
        "duration_months": contract.duration_months,
        "framework_maximum": contract.framework_maximum,
        "signed_on": contract.signed_on,
        "notified_at": contract.receipt_confirmed_at,
        "state": contract.state,
        "started_on": contract.started_on,
        "ended_on": contract.ended_on,
        "amendments": [_amendment_out(a) for a in amendments],
        "updated_at": contract.updated_at,
    }


# --- Public reads ------------------------------------------------------------------------


@router.get(
    "/awards/changes",
    response={200: AwardChanges, **VALIDATION, **errors(400)},
    operation_id="list_award_changes",
    summary="Notified award decisions modified since a cursor",
    description=(
        "The change feed of the decisions notified to the bidders (awarded,"
        " unsuccessful, discontinued), oldest modification first, as the consultations'"
        " feed. Public data only: the winner and its amount, never a rejected bidder's."
    ),
)
def list_award_changes(request: HttpRequest, params: Query[ChangeParams]) -> dict[str, Any]:
    feed = crossings.public_award_changes(cursor=params.cursor, limit=params.limit)
    return {**feed, "results": [_award_out(a) for a in feed["results"]]}


@router.get(
    "/awards/{award_id}",
    response={200: AwardOut, **VALIDATION, **errors(404)},
    operation_id="get_award",
    summary="One notified award decision",
)
def get_award(
    request: HttpRequest,
    award_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    found = crossings.public_award(award_id)
    if found is None:
        raise ApiError(404, "not_found", _("There is no such object."))
    return _award_out(found)


@router.get(
    "/contracts/changes",
    response={200: ContractChanges, **VALIDATION, **errors(400)},
    operation_id="list_contract_changes",
    summary="Notified contracts modified since a cursor",
    description=(
        "The change feed of the contracts notified to their holder (the holder's proof"
        " of receipt), with their amendments, oldest modification first."
    ),
)
def list_contract_changes(request: HttpRequest, params: Query[ChangeParams]) -> dict[str, Any]:
    feed = crossings.public_contract_changes(cursor=params.cursor, limit=params.limit)
    return {
        **feed,
        "results": [_contract_out(c, list(c.amendments.all())) for c in feed["results"]],
    }


@router.get(
    "/contracts/{contract_id}",
    response={200: ContractOut, **VALIDATION, **errors(404)},
    operation_id="get_contract",
    summary="One notified contract",
)
def get_contract(
    request: HttpRequest,
    contract_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> dict[str, Any]:
    found = crossings.public_contract(contract_id)
    if found is None:
        raise ApiError(404, "not_found", _("There is no such object."))
    return _contract_out(*found)


# --- Writes ------------------------------------------------------------------------------


def _actor(request: HttpRequest) -> ClientActor:
    caller = request.auth  # type: ignore[attr-defined]
    if not isinstance(caller, ApiCaller) or caller.organisation_id is None:
        raise ApiError(
            403,
            "permission_denied",
            _("Only a client of a member organisation records contracts."),
        )
    return ClientActor.of(caller.client_id, caller.organisation_id)


def _not_found() -> ApiError:
    return ApiError(404, "not_found", _("There is no such object."))


def _own(model: Any, actor: ClientActor, pk: int) -> None:
    """404 unless the row is the caller's member's (read in its scope)."""
    with scope(organisation=actor.organisation_id):
        manager = model.objects if model is Award else model.for_organisation
        if not manager.filter(organisation_id=actor.organisation_id, pk=pk).exists():
            raise _not_found()


def _idempotent(
    request: HttpRequest,
    operation: str,
    target: int,
    payload: Schema,
    run: Callable[[], dict[str, Any]],
) -> Status[Any]:
    """Answer a write once per ``Idempotency-Key`` of the client
    (:func:`mutualis.core.api.idempotency.once`): the same key with the same request
    gives the kept answer; with another, 409; while the first is still running, 409. A
    refused use case frees the key."""
    return idempotency.once(
        request, operation=operation, target=target, body=payload.dict(), run=run
    )


def _context(request: HttpRequest) -> dict[str, Any]:
    return dict(audit.request_context(request))


def _buyer_contract(actor: ClientActor, contract_id: int) -> dict[str, Any]:
    found = records.contract_of(organisation_id=actor.organisation_id, contract_id=contract_id)
    if found is None:  # pragma: no cover (just written)
        raise _not_found()
    return _contract_out(found, records.amendments_of(found, side="organisation"))


@router.post(
    "/awards/{award_id}/contract",
    auth=WRITE,
    response={201: ContractOut, **WRITE_ERRORS},
    operation_id="sign_contract",
    summary="Record the signed contract of an award",
    description=(
        "As the buyer's page: once the standstill period is over, the contract signed"
        " with the holder's establishment (one of the winner's SIRETs). A framework"
        " agreement may give its maximum. Needs `api:write` and an `Idempotency-Key`."
    ),
    openapi_extra=IDEMPOTENCY_HEADER,
)
def sign_contract(
    request: HttpRequest,
    payload: SignatureIn,
    award_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Status[Any]:
    actor = _actor(request)
    _own(Award, actor, award_id)

    def run() -> dict[str, Any]:
        contract = records.sign(
            actor=actor,
            award_id=award_id,
            reference=payload.reference,
            holder_siret=payload.holder_siret,
            amount=payload.amount,
            duration_months=payload.duration_months,
            signed_on=payload.signed_on,
            grouping=payload.grouping,
            co_contractors=payload.co_contractors,
            subcontractors=payload.subcontractors,
            framework_maximum=payload.framework_maximum,
            context=_context(request),
        )
        return _buyer_contract(actor, contract.pk)

    return _idempotent(request, "sign_contract", award_id, payload, run)


@router.post(
    "/contracts/{contract_id}/amendments",
    auth=WRITE,
    response={201: AmendmentOut, **WRITE_ERRORS},
    operation_id="add_amendment",
    summary="Append an amendment to a contract",
    description=(
        "As the buyer's page: once the contract is notified and until it ends, its"
        " object, notification date and the new amount or duration. Needs `api:write` and"
        " an `Idempotency-Key`."
    ),
    openapi_extra=IDEMPOTENCY_HEADER,
)
def add_amendment(
    request: HttpRequest,
    payload: AmendmentIn,
    contract_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Status[Any]:
    actor = _actor(request)
    _own(Contract, actor, contract_id)

    def run() -> dict[str, Any]:
        amendment = records.amend(
            actor=actor,
            contract_id=contract_id,
            object=payload.object,
            notified_on=payload.notified_on,
            new_amount=payload.new_amount,
            new_duration_months=payload.new_duration_months,
            context=_context(request),
        )
        return _amendment_out(amendment)

    return _idempotent(request, "add_amendment", contract_id, payload, run)


@router.post(
    "/contracts/{contract_id}/orders",
    auth=WRITE,
    response={201: OrderOut, **WRITE_ERRORS},
    operation_id="add_order",
    summary="Record an order under a framework agreement",
    description=(
        "As the buyer's page: a purchase order (bon de commande) on a notified framework"
        " agreement, refused above the framework's maximum when the contract records one."
        " Needs `api:write` and an `Idempotency-Key`."
    ),
    openapi_extra=IDEMPOTENCY_HEADER,
)
def add_order(
    request: HttpRequest,
    payload: OrderIn,
    contract_id: int = Path(..., ge=1, le=MAX_ID),  # type: ignore[type-arg]
) -> Status[Any]:
    actor = _actor(request)
    _own(Contract, actor, contract_id)

    def run() -> dict[str, Any]:
        order: Order = orders.add_order(
            actor=actor,
            contract_id=contract_id,
            number=payload.number,
            issued_on=payload.issued_on,
            object=payload.object,
            amount=payload.amount,
            context=_context(request),
        )
        with scope(organisation=actor.organisation_id):
            total = orders.ordered_total(order.contract)
        return {
            "id": order.pk,
            "contract": order.contract_id,
            "number": order.number,
            "issued_on": order.issued_on,
            "object": order.object,
            "amount": order.amount,
            "ordered_total": total,
        }

    return _idempotent(request, "add_order", contract_id, payload, run)
