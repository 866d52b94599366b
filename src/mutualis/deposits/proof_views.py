"""The proof of deposit, shown: the public log's roots on a consultation's page and their
downloads, the page describing how deposits, encryption and time-stamps work, and a
company's own receipt and inclusion proof. Thin: the rules are in ``log_sections``."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from mutualis.core.audit import canonical_json
from mutualis.procurement import crossings as procurement_crossings

from . import log_sections, receipt_pdf, services
from .models import Deposit, DepositLogRoot, LogSection

# A deposit reference in a path: what the deposit services write, nothing else reaches
# a query (a NUL byte or a megabyte of text is a 404, not an error of the database).
_REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _roots(consultation_id: int) -> dict[str, DepositLogRoot]:
    return {r.section: r for r in DepositLogRoot.objects.filter(consultation_id=consultation_id)}


def log_section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The consultation page's section (public and buyer): nothing before the deadline
    (not even whether anyone deposited), then the published roots. A consultation that
    takes no sealed deposit (no opening key: responses on paper, or elsewhere) has no log,
    and no section: "0 responses" would be false there."""
    if timezone.now() < consultation.response_deadline:
        return None
    roots = _roots(consultation.pk)
    if not roots and not services.takes_deposits(consultation):
        return None
    context: dict[str, Any] = {
        "on_time": roots.get(LogSection.ON_TIME),
        "late": roots.get(LogSection.LATE),
    }
    # The later consultations of the procedure (the offer phase, the negotiation rounds)
    # are never public: their logs are published here, on the first one's page, each
    # once its deadline has passed.
    later = (
        procurement_crossings.public_later_phases(consultation.pk)
        if consultation.parent_id is None
        else []
    )
    phases = []
    for phase in later:
        if timezone.now() < phase.response_deadline:
            break
        phase_roots = _roots(phase.pk)
        phases.append(
            {
                "consultation": phase,
                "on_time": phase_roots.get(LogSection.ON_TIME),
                "late": phase_roots.get(LogSection.LATE),
            }
        )
    context["later_phases"] = phases
    return context


@require_safe
def how_it_works(request: HttpRequest) -> HttpResponse:
    """How deposits, encryption and time-stamps work (the arrêté on electronic means in
    public procurement asks the buyer profile to publish it)."""
    return render(
        request,
        "deposits/how_it_works.html",
        {
            "tsa_url": request.build_absolute_uri(reverse("evidence:tsa")),
            "simulation": procurement_crossings.simulation_consultation(),
        },
    )


@require_safe
def receipt_certificate(request: HttpRequest) -> HttpResponse:
    """The certificate that signs the receipt PDFs (PEM), for whoever checks one."""
    try:
        pem = receipt_pdf.certificate_pem()
    except receipt_pdf.ReceiptSigningNotConfigured as error:
        raise Http404 from error
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="receipt-certificate.pem"'
    return response


def _published_root(pk: int, section: str) -> DepositLogRoot:
    if section not in LogSection.values:
        raise Http404
    if procurement_crossings.logged_consultation(pk) is None:
        raise Http404
    closed = log_sections.root_of(pk, section)
    if closed is None:
        raise Http404
    return closed


@require_safe
def root_token(request: HttpRequest, pk: int, section: str) -> HttpResponse:
    """The RFC 3161 token over a closed section's root (DER), for ``openssl ts -verify
    -digest <root> -in root.tst -token_in``."""
    closed = _published_root(pk, section)
    response = HttpResponse(bytes(closed.timestamp_token), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="root-{pk}-{section}.tst"'
    return response


def root_document(closed: DepositLogRoot) -> dict[str, Any]:
    return {
        "format": "mutualis-deposit-log-root/1",
        "consultation": closed.consultation_id,
        "section": closed.section,
        "tree_size": closed.size,
        "root": closed.root,
        "closed_at": closed.closed_at.isoformat(),
        "timestamp_token": base64.b64encode(bytes(closed.timestamp_token)).decode(),
    }


@require_safe
def root_json(request: HttpRequest, pk: int, section: str) -> HttpResponse:
    """The published root, count and token as JSON (the same facts as the page)."""
    closed = _published_root(pk, section)
    response = JsonResponse(root_document(closed), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="root-{pk}-{section}.json"'
    return response


# --- A company's own proof (under /c/<siren>/deposits/) ---------------------------------


def _own_deposit(request: HttpRequest, reference: str) -> Deposit:
    """The company's acknowledged deposit named in the path; 404 for any other company's
    (its references are not secrets, its rows are)."""
    if not _REFERENCE.match(reference):
        raise Http404
    representation: Any = request.representation  # type: ignore[attr-defined]
    deposit = (
        Deposit.for_company.filter(company_id=representation.company_id, reference=reference)
        .exclude(receipt_digest="")
        .first()
    )
    if deposit is None:
        raise Http404
    return deposit


def _proof_or_error(deposit: Deposit) -> tuple[dict[str, Any] | None, str]:
    try:
        return log_sections.inclusion_proof(deposit), ""
    except log_sections.ProofError as error:
        return None, str(error.message)


@require_safe
def company_proof(request: HttpRequest, reference: str) -> HttpResponse:
    """The deposit's proof page: where its section stands, the downloads and the check."""
    deposit = _own_deposit(request, reference)
    proof, problem = _proof_or_error(deposit)
    return render(
        request,
        "deposits/proof_company.html",
        {
            "deposit": deposit,
            "proof": proof,
            "problem": problem,
            "company": request.representation.company,  # type: ignore[attr-defined]
        },
    )


@require_safe
def company_proof_json(request: HttpRequest, reference: str) -> HttpResponse:
    """The inclusion proof (JSON) once the deposit's section is closed; 409 with the
    reason before."""
    deposit = _own_deposit(request, reference)
    proof, problem = _proof_or_error(deposit)
    if proof is None:
        return JsonResponse({"error": problem}, status=409)
    response = JsonResponse(proof, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="proof-{deposit.reference}.json"'
    return response


@require_safe
def company_receipt_json(request: HttpRequest, reference: str) -> HttpResponse:
    """The acknowledgement exactly as digested (canonical JSON): its SHA-256 is the leaf
    of the public log, so the file checks as it is downloaded."""
    deposit = _own_deposit(request, reference)
    content = canonical_json(deposit.receipt)
    if hashlib.sha256(content).hexdigest() != deposit.receipt_digest:
        # The stored acknowledgement no longer gives its digest: say so, never serve it.
        return JsonResponse({"error": str(log_sections.LogMismatch.message)}, status=409)
    response = HttpResponse(content, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="receipt-{deposit.reference}.json"'
    return response
