"""A company's letters and contracts, under ``/c/<siren>/contracts/``: its
representatives only (the tenancy middleware answers 404 to anyone else), its own rows
only. Opening a letter records its first reading; confirming the receipt of a
contract's notification is the proof of receipt."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core.errors import MutualisError
from mutualis.core.files.download import serve_file
from mutualis.core.tenancy import tenant_redirect

from . import awards, records, views


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    company_id = request.representation.company_id  # type: ignore[attr-defined]
    response = render(
        request,
        "contracts/company_home.html",
        {
            "letters": awards.letters_of_company(company_id=company_id),
            "contracts": records.contracts_of_company(company_id=company_id),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def letter(request: HttpRequest, letter_id: int) -> HttpResponseBase:
    found = awards.read_letter(
        representative=request.representation,  # type: ignore[attr-defined]
        letter_id=letter_id,
    )
    if found is None or found.pdf is None:
        raise Http404
    return serve_file(request, found.pdf, public=False)


@require_safe
def contract(request: HttpRequest, pk: int) -> HttpResponse:
    company_id = request.representation.company_id  # type: ignore[attr-defined]
    found = records.contract_of_company(company_id=company_id, contract_id=pk)
    if found is None:
        raise Http404
    amendments = records.amendments_of(found, side="company")
    amount, months = records.current_terms(found, amendments)
    response = render(
        request,
        "contracts/company_contract.html",
        {
            "contract": found,
            "award": found.award,
            "amendments": amendments,
            "current_amount": amount,
            "current_months": months,
            "orders": views.orders_context(found, side="company"),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def confirm_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = records.confirm_receipt(
            representative=request.representation,  # type: ignore[attr-defined]
            contract_id=pk,
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
        return tenant_redirect(request, "company_contracts:contract", pk=pk)
    if found is None:
        raise Http404
    messages.success(
        request, _("The receipt is confirmed: this date is the contract's notification date.")
    )
    return tenant_redirect(request, "company_contracts:contract", pk=pk)
