"""The company's ESPD response pages, under
``/c/<siren>/deposits/consultations/<pk>/espd/<lot>/`` (``lot`` is the lot's number, 0 for
a consultation without lots): the form built from the consultation's ESPD request, its
export as ESPD-EDM XML (which the deposit page offers like a vault document) and the import
of a response made elsewhere. The tenancy middleware answers 404 to anyone who does not
represent the company in the path.

And, for the opening, :func:`attach_opened`: the decrypted files that are ESPD responses,
read as structured data by the same module as the import.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.files.store import open_stored_file
from mutualis.core.forms import show_error
from mutualis.core.tenancy import tenant_redirect, tenant_reverse
from mutualis.procurement import crossings as procurement_crossings

from . import espd_response, opening
from . import espd_response_errors as errors
from . import espd_response_services as services
from .espd_response_forms import EspdImportForm, EspdResponseForm

logger = logging.getLogger(__name__)


def _representation(request: HttpRequest) -> Any:
    representation = getattr(request, "representation", None)
    if representation is None:
        raise Http404
    return representation


def _consultation_and_lot(pk: int, lot: int) -> tuple[Any, Any]:
    """The public consultation and its lot numbered ``lot`` (None, for 0, when it has no
    lots); 404 for anything else."""
    consultation = procurement_crossings.public_consultation(pk)
    if consultation is None:
        raise Http404
    lots = list(consultation.lots.all())
    if not lots:
        if lot != 0:
            raise Http404
        return consultation, None
    chosen = next((item for item in lots if item.number == lot), None)
    if chosen is None:
        raise Http404
    return consultation, chosen


def _page(
    request: HttpRequest,
    *,
    consultation: Any,
    lot: Any,
    questions: espd_response.Questionnaire,
    form: EspdResponseForm,
    import_form: EspdImportForm,
    row: Any,
    status: int = 200,
) -> HttpResponse:
    sections = []
    for family, title in (
        ("exclusion", _("Exclusion grounds")),
        ("selection", _("Selection criteria")),
        ("other", _("Other information")),
    ):
        criteria = [
            {
                "criterion": criterion,
                "rows": [
                    {
                        "question": question,
                        "fields": [form[name] for name in form.rows[question.id].names],
                        "condition": question.condition[1] if question.condition else None,
                    }
                    for question in criterion.questions
                ],
            }
            for criterion in questions.of_family(family)
        ]
        if criteria:
            sections.append({"family": family, "title": title, "criteria": criteria})
    number = lot.number if lot is not None else 0
    response = render(
        request,
        "deposits/espd_response.html",
        {
            "consultation": consultation,
            "lot": lot,
            "company": _representation(request).company,
            "questions": questions,
            "form": form,
            "operator_fields": [form[name] for name in form.OPERATOR_FIELDS],
            "sections": sections,
            "import_form": import_form,
            "row": row,
            "export_url": tenant_reverse(
                request, "company_deposits:espd_export", pk=consultation.pk, lot=number
            )
            if row is not None
            else None,
            "import_url": tenant_reverse(
                request, "company_deposits:espd_import", pk=consultation.pk, lot=number
            ),
            "deposit_url": tenant_reverse(
                request, "company_deposits:consultation", pk=consultation.pk
            ),
            "max_mb": espd_response.MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _row(representation: Any, consultation: Any, lot: Any) -> Any:
    return services.response_of(
        company_id=representation.company_id,
        consultation_id=consultation.pk,
        lot_id=lot.pk if lot is not None else None,
    )


def _initial(representation: Any, row: Any) -> dict[str, Any]:
    operator = services.operator_of(row, representation.company, user=representation.user)
    return operator.as_dict()


@require_http_methods(["GET", "HEAD", "POST"])
def espd_response_page(request: HttpRequest, pk: int, lot: int) -> HttpResponse:
    representation = _representation(request)
    consultation, chosen = _consultation_and_lot(pk, lot)
    questions = services.questions_for(consultation, chosen)
    row = _row(representation, consultation, chosen)
    form = EspdResponseForm(
        request.POST if request.method == "POST" else None,
        questions=questions,
        answers=row.answers if row is not None else None,
        initial=_initial(representation, row),
    )
    if request.method == "POST" and form.is_valid():
        answers = form.answers()
        if answers is not None:
            try:
                services.save_response(
                    actor=representation,
                    consultation=consultation,
                    lot=chosen,
                    operator=form.operator(),
                    answers=answers,
                    request_context=audit.request_context(request),
                )
            except MutualisError as exc:
                show_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Your ESPD response was saved: the deposit page offers it with your files."),
                )
                return tenant_redirect(
                    request, "company_deposits:espd", pk=consultation.pk, lot=lot
                )
    return _page(
        request,
        consultation=consultation,
        lot=chosen,
        questions=questions,
        form=form,
        import_form=EspdImportForm(),
        row=row,
    )


def _exported(row: Any, consultation: Any, lot: Any) -> bytes | None:
    """The row's XML, or None when the request no longer asks any question it answers (a
    rectified request): the form then asks again. Any other refusal is a bug."""
    try:
        return services.export_xml(row, consultation, lot)
    except espd_response.ResponseError as exc:
        if exc.code != "no_answer":
            raise
        logger.warning("ESPD response %s answers nothing the request asks", row.pk)
        return None


@require_safe
def espd_response_export(request: HttpRequest, pk: int, lot: int) -> HttpResponse:
    """The saved response as ESPD-EDM XML, valid against the official XSD."""
    representation = _representation(request)
    consultation, chosen = _consultation_and_lot(pk, lot)
    row = _row(representation, consultation, chosen)
    if row is None:
        raise Http404
    xml = _exported(row, consultation, chosen)
    if xml is None:
        raise Http404
    response = HttpResponse(xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{services.FILE_NAME}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def espd_response_import(request: HttpRequest, pk: int, lot: int) -> HttpResponse:
    representation = _representation(request)
    consultation, chosen = _consultation_and_lot(pk, lot)
    import_form = EspdImportForm(request.POST, request.FILES)
    if import_form.is_valid():
        upload = import_form.cleaned_data["file"]
        try:
            if upload.size > espd_response.MAX_BYTES:
                raise errors.EspdFileTooLarge()
            result = services.import_response(
                actor=representation,
                consultation=consultation,
                lot=chosen,
                data=upload.read(espd_response.MAX_BYTES + 1),
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(import_form, exc)
        else:
            messages.success(
                request,
                _("The ESPD response was imported: %(count)s answers fill the form; check them.")
                % {"count": len(result.imported.answers)},
            )
            if result.imported.other_procedure:
                messages.warning(
                    request,
                    _("This ESPD response answered another ESPD request: check every answer."),
                )
            if result.imported.ignored:
                messages.warning(
                    request,
                    _("Answers to criteria this consultation does not ask were ignored: %(names)s.")
                    % {"names": ", ".join(result.imported.ignored[:20])},
                )
            return tenant_redirect(request, "company_deposits:espd", pk=consultation.pk, lot=lot)
    questions = services.questions_for(consultation, chosen)
    row = _row(representation, consultation, chosen)
    form = EspdResponseForm(
        questions=questions,
        answers=row.answers if row is not None else None,
        initial=_initial(representation, row),
    )
    return _page(
        request,
        consultation=consultation,
        lot=chosen,
        questions=questions,
        form=form,
        import_form=import_form,
        row=row,
        status=400,
    )


# --- On the deposit page -----------------------------------------------------------------


def deposit_offers(
    request: HttpRequest, consultation: Any, lots: list[Any]
) -> list[dict[str, Any]]:
    """For each lot (or the consultation without lots): the link to the company's ESPD
    response form and, once saved, its XML offered like a vault document (the browser
    fetches it and encrypts it into the deposit)."""
    representation = _representation(request)
    saved = {
        row.lot_id: row
        for row in services.responses_on(
            company_id=representation.company_id, consultation_id=consultation.pk
        )
    }
    offers = []
    for lot in lots or [None]:
        number = lot.number if lot is not None else 0
        row = saved.get(lot.pk if lot is not None else None)
        offer: dict[str, Any] = {
            "lot": lot,
            "form_url": tenant_reverse(
                request, "company_deposits:espd", pk=consultation.pk, lot=number
            ),
            "row": row,
        }
        xml = _exported(row, consultation, lot) if row is not None else None
        if xml is not None:
            offer["url"] = tenant_reverse(
                request, "company_deposits:espd_export", pk=consultation.pk, lot=number
            )
            offer["name"] = services.FILE_NAME
            offer["content_type"] = services.CONTENT_TYPE
            offer["size"] = len(xml)
        offers.append(offer)
    return offers


# --- At the opening ------------------------------------------------------------------------


def _espd_of(stored: Any) -> espd_response.Parsed | None:
    if stored is None or stored.size > espd_response.MAX_BYTES:
        return None
    if not stored.original_name.lower().endswith(".xml") and "xml" not in stored.content_type:
        return None
    with open_stored_file(stored) as file:
        data = bytes(file.read(espd_response.MAX_BYTES + 1))
    try:
        return espd_response.read(data)
    except espd_response.ResponseError:
        return None  # not an ESPD response (another XML document, or no XML at all)


def _shown(value: Any) -> str:
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if isinstance(value, dict) and "amount" in value:
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, dict) and "start" in value:
        return _("from %(start)s to %(end)s") % value
    return str(value)


def reading(parsed: espd_response.Parsed) -> dict[str, Any]:
    """An ESPD response as the commission reads it: the operator, then each criterion
    with its answers (an exclusion ground answered yes marked)."""
    sections = []
    for family, title in (
        ("exclusion", _("Exclusion grounds")),
        ("selection", _("Selection criteria")),
        ("other", _("Other information")),
    ):
        criteria = []
        for criterion in parsed.questions.of_family(family):
            rows = [
                {"label": q.label, "value": _shown(parsed.answers[q.id]), "depth": q.depth}
                for q in criterion.questions
                if q.id in parsed.answers
            ]
            ground = parsed.ground_answer(criterion) if family == "exclusion" else None
            criteria.append(
                {"criterion": criterion, "rows": rows, "ground": ground, "flagged": ground is True}
            )
        if criteria:
            sections.append({"family": family, "title": title, "criteria": criteria})
    return {
        "parsed": parsed,
        "operator": parsed.operator,
        "valid": not parsed.schema_errors,
        "errors": parsed.schema_errors[: espd_response.SHOWN_ERRORS],
        "sections": sections,
        "flagged": [c.title for c in parsed.exclusions_answered_yes],
    }


def attach_opened(
    deposits: list[dict[str, Any]], *, actor: Any, session: Any, request: HttpRequest
) -> None:
    """Give each opened file that is an ESPD response its reading (``opened.espd``), for
    the opening page; each is a read of an opened file, audited like a download."""
    for item in deposits:
        for opened in item["files"]:
            parsed = _espd_of(opened.stored_file)
            opened.espd = reading(parsed) if parsed is not None else None
            if parsed is not None:
                opening.record_read(
                    actor=actor,
                    session=session,
                    what="espd",
                    target=opened,
                    request_context=audit.request_context(request),
                )
