"""The buyer's admission of candidates to the offer phase of a two-phase procedure, under
``/o/<slug>/deposits/consultations/<id>/admissions/``: the candidates received on time
(late ones apart), a decision with reasons for each, then one notification that opens the
offer phase. Buyers of the organisation in the path (commission members read the page);
anyone else gets 404. Thin: the rules are in ``admissions.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect
from mutualis.procurement import deadlines
from mutualis.procurement import selectors as procurement_selectors

from . import admission_errors, admissions, errors
from .models import AdmissionDecision, AdmissionState

READERS = ("buyer", "commission_member")
MAX_FIELD = admissions.MAX_REASONS


def _field(request: HttpRequest, name: str) -> str:
    return str(request.POST.get(name, ""))[: MAX_FIELD + 1]


def _paris_time(text: str, invalid: type[MutualisError] = errors.OffersDeadlineInvalid) -> datetime:
    """A ``datetime-local`` field ("2027-03-28T14:00"), Paris time, to a UTC instant."""
    try:
        local = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M")  # noqa: DTZ007 (Paris wall time)
    except ValueError as exc:
        raise invalid() from exc
    return deadlines.from_paris(local)


def _back(request: HttpRequest, pk: int) -> HttpResponse:
    return tenant_redirect(request, "deposit_register:admissions", pk=pk)


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The link to the admission of candidates on the buyer's page of a two-phase
    consultation, once published; and, on its offer phase's page, the way back."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    if not consultation.is_public:
        return None
    if consultation.round:
        return None  # a negotiation round: the procedure's steps are listed on its page
    if consultation.parent_id is not None:
        return {"parent_url": _url(membership, consultation.parent_id, "workspace")}
    if not consultation.takes_applications:
        return None
    return {"admissions_url": _url(membership, consultation.pk, "admissions")}


def _url(membership: Any, pk: int, kind: str) -> str:
    if kind == "workspace":
        return reverse("procurement:detail", kwargs={"org": membership.organisation.slug, "pk": pk})
    return reverse(
        "deposit_register:admissions", kwargs={"org": membership.organisation.slug, "pk": pk}
    )


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def page(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    try:
        candidates = admissions.candidates_of(
            organisation_id=membership.organisation_id, consultation_id=pk
        )
    except errors.NotTwoPhase as exc:
        raise Http404 from exc
    consultation = procurement_selectors.consultation(
        organisation_id=membership.organisation_id, consultation_id=pk
    )
    undecided = sum(1 for c in candidates.on_time if c.admission is None)
    awaiting = sum(
        1
        for c in candidates.on_time
        if c.admission is not None and c.admission.state == AdmissionState.AWAITING_DOCUMENTS
    )
    return render(
        request,
        "deposits/admissions.html",
        {
            "consultation": consultation,
            "candidates": candidates,
            "undecided": undecided,
            "awaiting": awaiting,
            "decisions": AdmissionDecision,
            "states": AdmissionState,
            "can_decide": "buyer" in membership.role_codes(),
            "max_reasons": admissions.MAX_REASONS,
            "offer_phase_url": _url(membership, candidates.offer_phase.pk, "workspace")
            if candidates.offer_phase is not None
            else None,
        },
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def decide(request: HttpRequest, pk: int, company_id: int) -> HttpResponse:
    """Admitted or not (with reasons); incomplete (the missing documents and their date:
    the request goes to the candidate at once); or, with ``silent``, refused for not
    answering a request by its date."""
    actor = request.membership  # type: ignore[attr-defined]
    decision = _field(request, "decision")
    try:
        if decision == AdmissionDecision.INCOMPLETE:
            admissions.request_documents(
                actor=actor,
                consultation_id=pk,
                company_id=company_id,
                missing=_field(request, "reasons"),
                deadline=_paris_time(
                    _field(request, "documents_deadline"),
                    admission_errors.DocumentsDeadlineInvalid,
                ),
                context=request_context(request),
            )
            success = _(
                "The missing documents are requested: the candidate is told by a message, "
                "and answers in its thread."
            )
        elif _field(request, "silent") == "1":
            admissions.refuse_silent(
                actor=actor,
                consultation_id=pk,
                company_id=company_id,
                context=request_context(request),
            )
            success = _("The decision is recorded; it is notified with the others.")
        else:
            admissions.decide(
                actor=actor,
                consultation_id=pk,
                company_id=company_id,
                decision=decision,
                reasons=_field(request, "reasons"),
                context=request_context(request),
            )
            success = _("The decision is recorded; it is notified with the others.")
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success)
    return _back(request, pk)


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def notify(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        offers_deadline = _paris_time(_field(request, "offers_deadline"))
        offer_phase = admissions.notify(
            actor=request.membership,  # type: ignore[attr-defined]
            consultation_id=pk,
            offers_deadline=offers_deadline,
            context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
        return _back(request, pk)
    messages.success(
        request,
        _(
            "The decisions are notified and the offer phase is open. Make its opening key now:"
            " the admitted candidates can deposit once it exists."
        ),
    )
    return tenant_redirect(request, "procurement:detail", pk=offer_phase.pk)
