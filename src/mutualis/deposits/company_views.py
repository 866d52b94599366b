"""A company's deposit page for one consultation (under ``/c/<siren>/deposits/``), and the
"Respond electronically" section of a consultation's public page.

Thin: the page shows the consultation, the company's vault documents and its deposits;
the browser does the rest against the deposit API (``api.py``, docs/adr/0008): it
encrypts each file in a Web Worker (``static/mutualis/deposits/encrypt-worker.js``) and
sends only ciphertext. Nothing here changes a row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mutualis.companies import crossings as company_crossings
from mutualis.companies import selectors as company_selectors
from mutualis.procurement import crossings as procurement_crossings
from mutualis.procurement.models import State

from . import admissions, errors, espd_response_views, services
from . import company_selectors as selectors
from .api import DepositIn
from .models import DepositState, FileKind


def _api_base() -> str:
    """The deposit API's root (``/api/v1/deposits``), for the page's script."""
    return reverse("api:api-root") + "deposits"


def _vault_documents(representation: Any) -> list[dict[str, Any]]:
    """The company's current vault documents the browser may fetch and encrypt, each
    with its download address under the company's path (the vault's own rule: only its
    active representatives read them)."""
    siren = representation.company.siren
    documents = []
    for group in company_selectors.vault_groups(representation.company):
        for entry in group.entries:
            document = entry.document
            documents.append(
                {
                    "id": document.pk,
                    "label": group.label,
                    "title": document.title,
                    "name": document.file.original_name,
                    "content_type": document.file.content_type,
                    "size": document.file.size,
                    "url": document.download_url(siren),
                    "validity": entry.validity,
                }
            )
    return documents


def _js_text() -> dict[str, str]:
    """The page script's sentences, translated here (``{name}``-style placeholders)."""
    return {
        "days": _("{days} d {time}"),
        "deadline_passed": _("The deadline has passed."),
        "choose_lot": _("Choose the lot you respond to."),
        "choose_files": _("Choose at least one file."),
        "empty_file": _("{name} is empty."),
        "type_refused": _(
            "{name}: this consultation does not accept this type of file (accepted: {types})."
        ),
        "accepted_types": _("Accepted types: {types}."),
        "file_too_large": _("{name} is larger than the {limit} a file may be."),
        "deposit_too_large": _("Your files together exceed the {limit} a response may be."),
        "no_key": _("A deposit is not possible now: {message}"),
        "vault_fetch": _("Reading {name} from your vault…"),
        "vault_failed": _("{name} could not be read from your vault."),
        "hashing": _("Computing the SHA-256 fingerprint: {percent} %"),
        "sending": _("Encrypted and sent: {done} of {total} ({percent} %)"),
        "waiting": _("Waiting"),
        "done": _("Received (100 %)"),
        "overall": _("{done} of {total} ({percent} %)"),
        "starting": _("Starting the deposit…"),
        "completing": _("Every file has arrived; the server seals and time-stamps the deposit…"),
        "retrying": _("The connection was interrupted; trying again in {seconds} s…"),
        "network": _(
            "The server cannot be reached. Your files were not all sent: check your "
            "connection and deposit again."
        ),
        "lost": _("The server lost part of {name}: deposit again."),
        "changed": _("{name} changed while it was being sent: deposit again."),
        "failed": _("The deposit failed: {message}"),
        "acknowledged": _("Your response was deposited: reference {reference}."),
        "sizes": _("{size} (encrypted: {encrypted})"),
        "late_yes": _("Yes: received after the deadline"),
        "late_no": _("No"),
        "receipt_link": _("Download the signed receipt (PDF)"),
        "withdraw_confirm": _(
            "Withdraw deposit {reference}? The buyer will not consider it; you may deposit "
            "again before the deadline."
        ),
        "withdrawn": _("Deposit {reference} was withdrawn."),
        "leave": _("Files are being sent: leaving the page stops the deposit."),
        "old_browser": _(
            "This browser cannot encrypt files before sending them: use a recent version "
            "of Firefox, Chrome, Edge or Safari."
        ),
    }


def page_context(request: HttpRequest, consultation: Any, *, now: datetime) -> dict[str, Any]:
    """What the deposit page shows; ``consultation`` is public (read by the crossing)."""
    representation = request.representation  # type: ignore[attr-defined]
    deadline = consultation.response_deadline
    cancelled = consultation.state == State.CANCELLED
    deposits = list(
        selectors.deposits_on(company_id=representation.company_id, consultation_id=consultation.pk)
    )
    before_deadline = now < deadline
    # Whether the consultation takes deposits at all (an opening key registered): the
    # deposit API's own rule, said here before anything is chosen.
    refusal = ""
    if not cancelled:
        try:
            services.consultation_info(consultation.pk, [representation.company_id])
        except errors.ConsultationNotOpen as exc:
            refusal = str(exc.message)
    lots = list(consultation.lots.all())
    return {
        **_admission_context(representation.company, consultation),
        "phase": services.phase_of(consultation),
        "consultation": consultation,
        # The public page of the procedure: the first consultation's (an offer phase or a
        # negotiation round has none of its own).
        "public_pk": procurement_crossings.first_of_procedure(consultation.pk)
        if consultation.parent_id
        else consultation.pk,
        "company": representation.company,
        "lots": lots,
        "now": now,
        "deadline": deadline,
        "before_deadline": before_deadline,
        # After the deadline a deposit is still received and kept, but flagged late.
        "late": not before_deadline,
        "accepts_deposits": not cancelled and not refusal,
        "cancelled": cancelled,
        "refusal": refusal,
        "vault_documents": _vault_documents(representation),
        # The company's ESPD responses, offered like vault documents (one per lot).
        "espd_offers": espd_response_views.deposit_offers(request, consultation, lots),
        # The backup copy is announced with the deposit when the API takes the
        # announcement (``DepositIn.backup_copy_announced``); the page offers it then only.
        "backup_copy": "backup_copy_announced" in DepositIn.model_fields,
        "deposits": deposits,
        "withdrawable_states": [DepositState.ACKNOWLEDGED],
        "file_kinds": {"application": FileKind.APPLICATION, "offer": FileKind.OFFER},
        "max_file_bytes": settings.MUTUALIS_DEPOSIT_MAX_FILE_BYTES,
        "max_deposit_bytes": settings.MUTUALIS_DEPOSIT_MAX_BYTES,
        "api_base": _api_base(),
        # Milliseconds since the epoch for the script's clock and countdown.
        "now_ms": int(now.timestamp() * 1000),
        "deadline_ms": int(deadline.timestamp() * 1000),
        "js_text": _js_text(),
    }


def _admission_context(company: Any, consultation: Any) -> dict[str, Any]:
    """On a two-phase consultation's page, the company's notified decision; on any
    consultation's, its way to its current invitation further in the procedure's chain
    (the offer phase when admitted, the last negotiation round that invites it)."""
    context: dict[str, Any] = {}
    if consultation.takes_applications:
        context["admission"] = admissions.notified_decision(
            company_id=company.pk, consultation_id=consultation.pk
        )
    invitation = procurement_crossings.offer_phase_invitations(consultation.pk, [company.pk])
    context["offer_phase_url"] = (
        reverse(
            "company_deposits:consultation", kwargs={"company": company.siren, "pk": invitation.pk}
        )
        if invitation is not None
        else None
    )
    context["invitation_round"] = invitation.round if invitation is not None else 0
    return context


@require_safe
def consultation_deposits(request: HttpRequest, pk: int) -> HttpResponse:
    """The deposit page of one public consultation, or of an offer phase that invites
    the company, for a representative of the company in the path (the tenancy
    middleware answers 404 to anyone else)."""
    company_id = request.representation.company_id  # type: ignore[attr-defined]
    consultation = procurement_crossings.depositable_consultation(pk, [company_id])
    if consultation is None:
        raise Http404
    response = render(
        request,
        "deposits/company_deposit.html",
        page_context(request, consultation, now=timezone.now()),
    )
    response["Cache-Control"] = "private, no-store"
    return response


def public_section(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The "Respond electronically" section of a consultation's public page: the server
    time and the deadline, and for a signed-in person a link to the deposit page of each
    company they represent."""
    if consultation.state == State.CANCELLED:
        return None
    now = timezone.now()
    representations = company_crossings.representations_of_user(request.user)
    return {
        "now": now,
        "deadline": consultation.response_deadline,
        "two_phase": consultation.takes_applications,
        "late": now >= consultation.response_deadline,
        "signed_in": request.user.is_authenticated,
        "deposit_links": [
            {
                "company": representation.company,
                "url": reverse(
                    "company_deposits:consultation",
                    kwargs={"company": representation.company.siren, "pk": consultation.pk},
                ),
            }
            for representation in representations
        ],
        "simulation_url": _simulation_url(consultation),
    }


def _simulation_url(consultation: Any) -> str | None:
    """The test consultation's page, offered on every other consultation's."""
    if consultation.is_test:
        return None
    test = procurement_crossings.simulation_consultation()
    return reverse("consultations:detail", kwargs={"pk": test.pk}) if test else None
