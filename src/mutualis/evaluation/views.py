"""The analysis of offers, under ``/o/<slug>/evaluation/consultations/<pk>/``: the analyses
of a consultation (per lot), an analysis' grid (criteria, sub-criteria, settings, prices),
the scoring of an offer, the ranking, and the report (PDF, XLSX). Buyers, evaluators and
commission members of the organisation in the path; anyone else gets 404. Thin: the
rules are in ``services.py`` and ``scoring.py``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect
from mutualis.procurement import deadlines
from mutualis.procurement import rounds as procurement_rounds
from mutualis.procurement import selectors as procurement_selectors

from . import errors, negotiation, report, scoring, selectors, services
from .models import MAX_COMMENT, MAX_LABEL, AnalysisState, LowRule, PriceMethod

READERS = services.READERS
MAX_FIELD = MAX_COMMENT


def _field(request: HttpRequest, name: str) -> str:
    # Cut what no field needs: the services refuse what is over their limit.
    return str(request.POST.get(name, ""))[: MAX_FIELD + 1]


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def _consultation(request: HttpRequest, pk: int) -> Any:
    membership = request.membership  # type: ignore[attr-defined]
    consultation = procurement_selectors.consultation(
        organisation_id=membership.organisation_id, consultation_id=pk
    )
    if consultation is None:
        raise Http404
    return consultation


def _analysis(request: HttpRequest, pk: int, analysis_id: int) -> Any:
    membership = request.membership  # type: ignore[attr-defined]
    analysis = selectors.analysis(
        organisation_id=membership.organisation_id, analysis_id=analysis_id
    )
    if analysis is None or analysis.consultation_id != pk:
        raise Http404
    return analysis


def _is_buyer(request: HttpRequest) -> bool:
    return "buyer" in request.membership.role_codes()  # type: ignore[attr-defined]


def _back(request: HttpRequest, pk: int, analysis_id: int) -> HttpResponse:
    return tenant_redirect(request, "evaluation:analysis", pk=pk, analysis_id=analysis_id)


def _act(request: HttpRequest, pk: int, analysis_id: int, call: Any, done: str) -> HttpResponse:
    _analysis(request, pk, analysis_id)
    try:
        call()
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    return _back(request, pk, analysis_id)


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The link to the analysis on the buyer's page of a consultation, once its offers
    are opened."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    if consultation.takes_applications or not services.opening_complete(consultation):
        return None
    return {
        "analyses": selectors.analyses_of(
            organisation_id=membership.organisation_id, consultation_id=consultation.pk
        ),
        "evaluation_url": reverse(
            "evaluation:consultation",
            kwargs={"org": membership.organisation.slug, "pk": consultation.pk},
        ),
        "negotiation": _negotiation_context(request, consultation),
    }


def _negotiation_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The form of the next negotiation round, for a buyer, where the procedure allows
    one and no later consultation exists; the bidders once the analysis is closed."""
    if not _is_buyer(request) or not procurement_rounds.may_negotiate(consultation):
        return None
    if procurement_rounds.has_later(consultation):
        return None
    membership = request.membership  # type: ignore[attr-defined]
    return {
        "number": consultation.round + 1,
        "bidders": negotiation.negotiable_bidders(consultation),
        "url": reverse(
            "evaluation:round_open",
            kwargs={"org": membership.organisation.slug, "pk": consultation.pk},
        ),
        "max_message": negotiation.MAX_MESSAGE,
    }


def _paris_time(text: str) -> Any:
    """A ``datetime-local`` field ("2027-03-28T14:00"), Paris time, to a UTC instant."""
    try:
        local = datetime.strptime(text.strip()[:20], "%Y-%m-%dT%H:%M")  # noqa: DTZ007 (Paris)
    except ValueError as exc:
        raise procurement_rounds.RoundDeadlineInvalid() from exc
    return deadlines.from_paris(local)


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def open_round(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the next negotiation round on the consultation's offers; the buyer lands on
    the round's page, whose opening key is the next step."""
    _consultation(request, pk)
    companies = [_id(str(value)[:12]) for value in request.POST.getlist("companies")[:1000]]
    try:
        if any(company is None for company in companies):
            raise errors.NotABidder()
        round_ = negotiation.open_round(
            actor=request.membership,  # type: ignore[attr-defined]
            consultation_id=pk,
            company_ids=[c for c in companies if c is not None],
            deadline=_paris_time(_field(request, "deadline")),
            # Cut past the service's limit only, so that it refuses an over-long one.
            message=str(request.POST.get("message", ""))[: negotiation.MAX_MESSAGE + 1],
            context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
        return tenant_redirect(request, "procurement:detail", pk=pk)
    messages.success(
        request,
        _(
            "The negotiation round is open and the invitations are sent. Make its opening key"
            " now: the invited bidders can deposit once it exists."
        ),
    )
    return tenant_redirect(request, "procurement:detail", pk=round_.pk)


# --- The consultation's analyses -------------------------------------------------------------


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def consultation(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = _consultation(request, pk)
    analyses = selectors.analyses_of(
        organisation_id=consultation.organisation_id, consultation_id=pk
    )
    started = {a.lot_id for a in analyses}
    lots = list(consultation.lots.all())
    return render(
        request,
        "evaluation/consultation.html",
        {
            "consultation": consultation,
            "analyses": analyses,
            "opened": services.opening_complete(consultation),
            "to_start": [lot for lot in lots if lot.pk not in started],
            "single_to_start": not lots and None not in started,
            "can_manage": _is_buyer(request),
        },
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def open_analysis(request: HttpRequest, pk: int) -> HttpResponse:
    _consultation(request, pk)
    lot = _field(request, "lot")
    try:
        analysis = services.open_analysis(
            actor=request.membership,  # type: ignore[attr-defined]
            consultation_id=pk,
            lot_id=_id(lot) if lot else None,
            context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
        return tenant_redirect(request, "evaluation:consultation", pk=pk)
    messages.success(request, _("The analysis is started: check its criteria, then the prices."))
    return _back(request, pk, analysis.pk)


# --- One analysis ----------------------------------------------------------------------------


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def analysis(request: HttpRequest, pk: int, analysis_id: int) -> HttpResponse:
    analysis = _analysis(request, pk, analysis_id)
    return render(
        request,
        "evaluation/analysis.html",
        {
            "consultation": analysis.consultation,
            "analysis": analysis,
            "tree": selectors.criteria_tree(analysis),
            "offers": selectors.offers_of(analysis),
            "late": selectors.late_deposits(analysis),
            "states": AnalysisState,
            "price_methods": PriceMethod.choices,
            "low_rules": LowRule.choices,
            "can_manage": _is_buyer(request),
            "max_label": MAX_LABEL,
        },
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def configure(request: HttpRequest, pk: int, analysis_id: int) -> HttpResponse:
    price = _field(request, "price_criterion")
    return _act(
        request,
        pk,
        analysis_id,
        lambda: services.configure(
            actor=request.membership,  # type: ignore[attr-defined]
            analysis_id=analysis_id,
            price_method=_field(request, "price_method"),
            scale=_field(request, "scale"),
            low_rule=_field(request, "low_rule"),
            low_threshold=_field(request, "low_threshold"),
            price_criterion_id=_id(price) if price else None,
            context=request_context(request),
        ),
        _("The settings are saved."),
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def add_subcriterion(request: HttpRequest, pk: int, analysis_id: int) -> HttpResponse:
    return _act(
        request,
        pk,
        analysis_id,
        lambda: services.add_subcriterion(
            actor=request.membership,  # type: ignore[attr-defined]
            analysis_id=analysis_id,
            parent_id=_id(_field(request, "parent")) or 0,
            label=_field(request, "label"),
            weight=_field(request, "weight"),
            context=request_context(request),
        ),
        _("The sub-criterion is added."),
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def remove_subcriterion(
    request: HttpRequest, pk: int, analysis_id: int, criterion_id: int
) -> HttpResponse:
    return _act(
        request,
        pk,
        analysis_id,
        lambda: services.remove_subcriterion(
            actor=request.membership,  # type: ignore[attr-defined]
            analysis_id=analysis_id,
            criterion_id=criterion_id,
            context=request_context(request),
        ),
        _("The sub-criterion is removed."),
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def set_price(request: HttpRequest, pk: int, analysis_id: int, offer_id: int) -> HttpResponse:
    return _act(
        request,
        pk,
        analysis_id,
        lambda: services.set_price(
            actor=request.membership,  # type: ignore[attr-defined]
            analysis_id=analysis_id,
            offer_id=offer_id,
            price=_field(request, "price"),
            context=request_context(request),
        ),
        _("The price is recorded."),
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def start_scoring(request: HttpRequest, pk: int, analysis_id: int) -> HttpResponse:
    return _act(
        request,
        pk,
        analysis_id,
        lambda: services.start_scoring(
            actor=request.membership,  # type: ignore[attr-defined]
            analysis_id=analysis_id,
            context=request_context(request),
        ),
        _("Scoring has started: the evaluators can score the offers."),
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def close(request: HttpRequest, pk: int, analysis_id: int) -> HttpResponse:
    return _act(
        request,
        pk,
        analysis_id,
        lambda: services.close_analysis(
            actor=request.membership,  # type: ignore[attr-defined]
            analysis_id=analysis_id,
            context=request_context(request),
        ),
        _("The analysis is closed: its ranking is final."),
    )


@role_required(*READERS)
@subscription_required("procurement")
@require_http_methods(["GET", "HEAD", "POST"])
def score(request: HttpRequest, pk: int, analysis_id: int, offer_id: int) -> HttpResponse:
    analysis = _analysis(request, pk, analysis_id)
    offer = next((o for o in selectors.offers_of(analysis) if o.pk == offer_id), None)
    if offer is None:
        raise Http404
    leaves = services.scorable(analysis)
    if request.method == "POST":
        try:
            services.score_offer(
                actor=request.membership,  # type: ignore[attr-defined]
                analysis_id=analysis_id,
                offer_id=offer_id,
                scores={
                    criterion_id: (
                        _field(request, f"score-{criterion_id}"),
                        _field(request, f"comment-{criterion_id}"),
                    )
                    for criterion_id in leaves
                },
                context=request_context(request),
            )
        except MutualisError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Your scores are recorded."))
            return _back(request, pk, analysis_id)
    own = selectors.own_scores(analysis, offer, request.user)
    return render(
        request,
        "evaluation/score.html",
        {
            "consultation": analysis.consultation,
            "analysis": analysis,
            "offer": offer,
            "rows": [(leaf, own.get(leaf.pk)) for leaf in leaves.values()],
            "max_comment": MAX_COMMENT,
            "scoring_open": analysis.state == AnalysisState.SCORING,
        },
    )


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def ranking(request: HttpRequest, pk: int, analysis_id: int) -> HttpResponse:
    analysis = _analysis(request, pk, analysis_id)
    result = selectors.ranking(analysis)
    top = scoring.heaviest(services.domain_criteria(analysis))
    top_label = next((c.label for c in result.criteria if str(c.pk) == (top and top.key)), "")
    return render(
        request,
        "evaluation/ranking.html",
        {
            "consultation": analysis.consultation,
            "analysis": analysis,
            "result": result,
            "rows": [
                (r, [scoring.display(p) for p in r.points], scoring.display(r.total))
                for r in result.offers
            ],
            "top_label": top_label,
            "scores": selectors.scores_of(analysis),
        },
    )


# --- Report ----------------------------------------------------------------------------------


def _report_inputs(request: HttpRequest, pk: int) -> tuple[Any, list[Any]]:
    consultation = _consultation(request, pk)
    analyses = selectors.analyses_of(
        organisation_id=consultation.organisation_id, consultation_id=pk
    )
    if not analyses:
        raise Http404
    return consultation, analyses


def _attachment(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    consultation, analyses = _report_inputs(request, pk)
    return _attachment(
        report.pdf(consultation, analyses), "application/pdf", f"analyse-{consultation.pk}.pdf"
    )


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    consultation, analyses = _report_inputs(request, pk)
    return _attachment(
        report.xlsx(consultation, analyses),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"analyse-{consultation.pk}.xlsx",
    )
