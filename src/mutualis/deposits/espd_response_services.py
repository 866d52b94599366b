"""The company's ESPD responses (the DUME): its answers to a consultation's ESPD request,
kept in its own space (``EspdResponse``), saved from the form or imported from an ESPD
response made elsewhere, exported as ESPD-EDM XML (``espd_response``).

The row is the company's own copy, like its vault: outside the sealing, read by its
representatives only. What a buyer receives is the exported XML, which the browser
encrypts into a deposit like any other file. Every change is audited on the company's
chain.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_scopes import scope

from mutualis.companies import selectors as company_selectors
from mutualis.companies.models import Company
from mutualis.core import audit
from mutualis.core.audit.chain import company_chain
from mutualis.procurement import espd, espd_export

from . import espd_response
from . import espd_response_errors as errors
from .models import EspdResponse

FILE_NAME = "dume-response.xml"
CONTENT_TYPE = "application/xml"
_POSTCODE = re.compile(r"^(.*?)[\s,]*\b(\d{5})\s+(.+)$", re.DOTALL)


def lot_identifier(lot: Any) -> str:
    """The ESPD identifier of ``lot`` (``LOT-0000`` for a consultation without lots)."""
    return espd.lot_identifier(lot.number if lot is not None else 0)


def request_xml(consultation: Any) -> bytes:
    """The consultation's ESPD request, as the buyer publishes it."""
    return espd_export.export(consultation)


def questions_for(consultation: Any, lot: Any) -> espd_response.Questionnaire:
    return espd_response.questionnaire(request_xml(consultation), lot_identifier(lot))


# --- Selectors ---------------------------------------------------------------------------


def response_of(
    *, company_id: int, consultation_id: int, lot_id: int | None, lock: bool = False
) -> EspdResponse | None:
    """The company's response to one consultation (and lot), read in its scope."""
    rows = EspdResponse.objects.select_for_update() if lock else EspdResponse.objects.all()
    rows = rows.filter(company_id=company_id, consultation_id=consultation_id)
    rows = rows.filter(lot__isnull=True) if lot_id is None else rows.filter(lot_id=lot_id)
    return rows.order_by("pk").first()


def responses_on(*, company_id: int, consultation_id: int) -> list[EspdResponse]:
    """The company's responses to one consultation, one per lot at most."""
    return list(
        EspdResponse.objects.filter(company_id=company_id, consultation_id=consultation_id)
        .select_related("lot")
        .order_by("lot__number", "pk")
    )


def prefilled_operator(company: Company, *, user: Any = None) -> espd_response.Operator:
    """The operator's identity from the company's record: its name and SIREN, its head
    office's SIRET and address, its size, the representative as contact."""
    head = company_selectors.establishments(company).first()
    profile = company_selectors.profile(company)
    street, postal_code, city = _address(head.address if head is not None else "")
    return espd_response.Operator(
        name=company.name,
        siren=company.siren,
        siret=head.siret if head is not None else "",
        street=street,
        postal_code=postal_code,
        city=city,
        size=profile.size if profile is not None else "",
        contact_name=(user.get_full_name() if user is not None else "") or "",
        email=(user.email if user is not None else "") or "",
    )


def _address(address: str) -> tuple[str, str, str]:
    """Street, postcode and city of a French address written on one or several lines."""
    text = " ".join(address.split())
    match = _POSTCODE.match(text)
    if match is None:
        return text, "", ""
    return match.group(1).strip(" ,"), match.group(2), match.group(3).strip()


def operator_of(
    row: EspdResponse | None, company: Company, *, user: Any = None
) -> espd_response.Operator:
    """The identity the document states: the saved one, else the company's record. The
    SIREN is always the company's."""
    if row is not None and row.operator:
        saved = espd_response.Operator.from_dict(row.operator)
        return espd_response.Operator(**{**saved.as_dict(), "siren": company.siren})
    return prefilled_operator(company, user=user)


def export_xml(row: EspdResponse, consultation: Any, lot: Any) -> bytes:
    """The response as ESPD-EDM XML, valid against the response XSD (or an error: a bug)."""
    company = row.company
    return espd_response.build(
        request_xml=request_xml(consultation),
        lot=lot_identifier(lot),
        operator=operator_of(row, company),
        answers=row.answers,
        issued_at=row.updated_at,
        document_uuid=row.document_uuid,
    )


# --- Use cases ---------------------------------------------------------------------------


def _check_representative(actor: Any) -> Company:
    company: Company = actor.company
    current = company_selectors.representative(company, actor.pk)
    if current is None or not current.is_active:
        raise errors.EspdResponseRefused()
    return company


def clean_answers(
    questions: espd_response.Questionnaire, answers: Mapping[str, Any]
) -> dict[str, espd_response.Answer]:
    """The answers to questions asked, each checked; raises ``EspdAnswerInvalid`` with
    the property's ID as field."""
    cleaned: dict[str, espd_response.Answer] = {}
    for identifier, value in answers.items():
        question = questions.question(identifier)
        if question is None:
            continue
        try:
            cleaned[identifier] = espd_response.clean_answer(question.kind, value)
        except espd_response.ResponseError as exc:
            refusal = errors.refusal(exc)
            refusal.field = identifier
            raise refusal from None
    return espd_response.relevant(questions, cleaned)


def _save(
    *,
    actor: Any,
    company: Company,
    consultation: Any,
    lot: Any,
    operator: espd_response.Operator,
    answers: dict[str, espd_response.Answer],
    action: str,
    payload: dict[str, Any],
    request_context: Mapping[str, Any] | None,
) -> EspdResponse:
    lot_id = lot.pk if lot is not None else None
    with scope(company=company.pk):
        row = response_of(
            company_id=company.pk, consultation_id=consultation.pk, lot_id=lot_id, lock=True
        )
        if row is None:
            row = EspdResponse(company=company, consultation_id=consultation.pk, lot_id=lot_id)
        row.operator = {**operator.as_dict(), "siren": company.siren}
        row.answers = answers
        # A changed document is another document: a new UUID.
        row.document_uuid = uuid.uuid4()
        row.updated_by = actor.user
        row.save()
        audit.record(
            actor=actor.user,
            action=action,
            chain=company_chain(company.pk),
            target=row,
            payload={
                "consultation": consultation.pk,
                "lot": lot_id,
                "answers": len(answers),
                "document_uuid": str(row.document_uuid),
                **payload,
            },
            **dict(request_context or {}),
        )
    return row


@transaction.atomic(durable=True)
def save_response(
    *,
    actor: Any,
    consultation: Any,
    lot: Any,
    operator: espd_response.Operator,
    answers: Mapping[str, Any],
    request_context: Mapping[str, Any] | None = None,
) -> EspdResponse:
    """Save the company's answers to the consultation's ESPD request (for ``lot``)."""
    company = _check_representative(actor)
    questions = questions_for(consultation, lot)
    cleaned = clean_answers(questions, answers)
    if not cleaned:
        raise errors.EspdNoAnswer()
    return _save(
        actor=actor,
        company=company,
        consultation=consultation,
        lot=lot,
        operator=operator,
        answers=cleaned,
        action="deposits.espd_response_saved",
        payload={},
        request_context=request_context,
    )


@dataclass(frozen=True)
class ImportResult:
    response: EspdResponse
    imported: espd_response.Imported


def read_upload(data: bytes) -> espd_response.Parsed:
    """An uploaded ESPD response, read and valid; refused with a clear reason otherwise."""
    if len(data) > espd_response.MAX_BYTES:
        raise errors.EspdFileTooLarge()
    try:
        parsed = espd_response.read(data)
    except espd_response.ResponseError as exc:
        raise errors.refusal(exc) from None
    if parsed.schema_errors:
        raise errors.schema_invalid(parsed.schema_errors)
    return parsed


@transaction.atomic(durable=True)
def import_response(
    *,
    actor: Any,
    consultation: Any,
    lot: Any,
    data: bytes,
    request_context: Mapping[str, Any] | None = None,
) -> ImportResult:
    """Fill the company's response from an ESPD response made elsewhere (or exported
    here): the answers to questions this consultation's request asks replace the saved
    ones; the others are ignored and named. The identity stays the saved one (or the
    company's record): the platform knows who the company is."""
    company = _check_representative(actor)
    parsed = read_upload(data)
    questions = questions_for(consultation, lot)
    imported = espd_response.merge(questions, parsed)
    if not imported.answers:
        raise errors.EspdNothingImported()
    existing = response_of(
        company_id=company.pk,
        consultation_id=consultation.pk,
        lot_id=lot.pk if lot is not None else None,
    )
    row = _save(
        actor=actor,
        company=company,
        consultation=consultation,
        lot=lot,
        operator=operator_of(existing, company, user=actor.user),
        answers=imported.answers,
        action="deposits.espd_response_imported",
        payload={
            "source_document": parsed.document_uuid[:100],
            "ignored": len(imported.ignored),
        },
        request_context=request_context,
    )
    return ImportResult(response=row, imported=imported)
