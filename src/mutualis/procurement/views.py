"""The buyer's pages, under ``/o/<slug>/procurement/``: the member's consultations, a new
one, its page, changes while it is a draft, its lots and criteria, and its moves
(schedule, unschedule, publish now, cancel).

Guards, in this order: the tenancy middleware (the organisation in the path), the role
``buyer`` (anyone else gets 404, the platform's one guard convention), then an active
subscription to procurement (a suspended one shows why, with status 403). The services
check role and subscription again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core import registry
from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect

from . import espd_export, forms, rounds, selectors, services, transitions
from .models import Consultation, State
from .transitions import Event

View = Callable[..., HttpResponse]


def buyer_view(view: View) -> View:
    return role_required(services.BUYER)(subscription_required(services.SERVICE)(view))


def actor_of(request: HttpRequest) -> Any:
    """The membership the buyer acts through: the one of the organisation in the path,
    which the tenancy middleware put on the request."""
    return request.membership  # type: ignore[attr-defined]


def posted(request: HttpRequest) -> Any:
    """The posted data a form is bound to, or None (an unbound form) on a GET."""
    return request.POST if request.method == "POST" else None


def consultation_or_404(request: HttpRequest, pk: int) -> Consultation:
    """The consultation ``pk`` of the acting member; another member's, or none, is 404."""
    consultation = selectors.consultation(
        organisation_id=actor_of(request).organisation_id, consultation_id=pk
    )
    if consultation is None:
        raise Http404
    return consultation


def _picker() -> dict[str, str]:
    """What the CPV picker script reads (a ``json_script`` block: no inline script)."""
    return {
        "url": reverse("procurement_reference:cpv"),
        "label": _("Codes found"),
        "none": _("No code found."),
    }


@buyer_view
def consultation_list(request: HttpRequest) -> HttpResponse:
    consultations = selectors.consultations_of(organisation_id=actor_of(request).organisation_id)
    return render(
        request,
        "procurement/consultation_list.html",
        {"consultations": consultations, "now": timezone.now()},
    )


@buyer_view
def consultation_new(request: HttpRequest) -> HttpResponse:
    form = forms.ConsultationForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            consultation = services.create_consultation(
                actor=actor_of(request),
                data=form.to_input(),
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The draft consultation has been created."))
            return tenant_redirect(request, "procurement:detail", pk=consultation.pk)
    return render(
        request, "procurement/consultation_form.html", {"form": form, "cpv_picker": _picker()}
    )


@buyer_view
def consultation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    if consultation.state != State.DRAFT:
        messages.error(request, _("Only a draft can be changed."))
        return tenant_redirect(request, "procurement:detail", pk=pk)
    form = forms.ConsultationForm(
        posted(request), initial=forms.ConsultationForm.initial_of(consultation)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_consultation(
                actor=actor_of(request),
                consultation_id=pk,
                data=form.to_input(),
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The consultation has been saved."))
            return tenant_redirect(request, "procurement:detail", pk=pk)
    return render(
        request,
        "procurement/consultation_form.html",
        {"form": form, "consultation": consultation, "cpv_picker": _picker()},
    )


@buyer_view
@require_safe
def consultation_espd(request: HttpRequest, pk: int) -> HttpResponse:
    """The consultation's ESPD request (DUME), as ESPD-EDM XML, to download."""
    consultation = consultation_or_404(request, pk)
    response = HttpResponse(
        espd_export.export(consultation), content_type="application/xml; charset=utf-8"
    )
    name = f"DUME-{slugify(consultation.reference) or consultation.pk}.xml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@buyer_view
def consultation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    return detail_page(request, consultation)


def detail_page(
    request: HttpRequest, consultation: Consultation, **forms_bound: Any
) -> HttpResponse:
    """The buyer's page of ``consultation``; ``forms_bound``: a form posted again with its
    errors (``lot_form``, ``answer_error``…), the page then answering 400."""
    is_draft = consultation.state == State.DRAFT
    lots = list(consultation.lots.all())
    criteria = list(consultation.criteria.all())
    context = {
        "consultation": consultation,
        "lots": lots,
        "criteria": criteria,
        "weights_total": sum(c.weight for c in criteria),
        "is_draft": is_draft,
        "now": timezone.now(),
        "can": {event.value: transitions.allowed(consultation, event) for event in Event},
        "lot_form": forms_bound.get("lot_form") or forms.LotForm(initial={"number": len(lots) + 1}),
        "criterion_form": forms_bound.get("criterion_form") or forms.CriterionForm(),
        "schedule_form": forms_bound.get("schedule_form") or forms.ScheduleForm(),
        "cancel_form": forms_bound.get("cancel_form") or forms.CancelForm(),
        "publish_error": forms_bound.get("publish_error"),
        "cpv_picker": _picker(),
    }
    # The procedure's consultations when there are several (the first, its offer phase,
    # its negotiation rounds), each with its state and page.
    chain = rounds.chain_of(consultation)
    context["chain"] = chain if len(chain) > 1 else []
    # The download register, the questions and the answers (register_views.py).
    from . import register_views

    context.update(register_views.buyer_context(request, consultation, **forms_bound))
    context["sections"] = registry.render_consultation_sections(request, consultation, "buyer")
    status = 400 if forms_bound else 200
    return render(request, "procurement/consultation_detail.html", context, status=status)


@buyer_view
@require_POST
def lot_add(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    form = forms.LotForm(request.POST)
    if form.is_valid():
        try:
            services.add_lot(
                actor=actor_of(request),
                consultation_id=pk,
                data=form.to_input(),
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The lot has been added."))
            return tenant_redirect(request, "procurement:detail", pk=pk)
    return detail_page(request, consultation, lot_form=form)


@buyer_view
@require_POST
def lot_remove(request: HttpRequest, pk: int, lot_pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    if not consultation.lots.filter(pk=lot_pk).exists():
        raise Http404
    return _act(
        request,
        pk,
        lambda: services.remove_lot(
            actor=actor_of(request),
            consultation_id=pk,
            lot_id=lot_pk,
            request_context=request_context(request),
        ),
        _("The lot has been removed."),
    )


@buyer_view
@require_POST
def criterion_add(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    form = forms.CriterionForm(request.POST)
    if form.is_valid():
        try:
            services.add_criterion(
                actor=actor_of(request),
                consultation_id=pk,
                label=form.cleaned_data["label"],
                weight=form.cleaned_data["weight"],
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The criterion has been added."))
            return tenant_redirect(request, "procurement:detail", pk=pk)
    return detail_page(request, consultation, criterion_form=form)


@buyer_view
@require_POST
def criterion_remove(request: HttpRequest, pk: int, criterion_pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    if not consultation.criteria.filter(pk=criterion_pk).exists():
        raise Http404
    return _act(
        request,
        pk,
        lambda: services.remove_criterion(
            actor=actor_of(request),
            consultation_id=pk,
            criterion_id=criterion_pk,
            request_context=request_context(request),
        ),
        _("The criterion has been removed."),
    )


def _act(request: HttpRequest, pk: int, action: Callable[[], Any], done: str) -> HttpResponse:
    """Run one service; its refusal is shown on the consultation's page."""
    try:
        action()
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    return tenant_redirect(request, "procurement:detail", pk=pk)


@buyer_view
@require_POST
def consultation_publish(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    try:
        services.publish_consultation(
            actor=actor_of(request), consultation_id=pk, request_context=request_context(request)
        )
    except MutualisError as exc:
        return detail_page(request, consultation, publish_error=exc)
    messages.success(request, _("The consultation is published."))
    return tenant_redirect(request, "procurement:detail", pk=pk)


@buyer_view
@require_POST
def consultation_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    form = forms.ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.schedule_consultation(
                actor=actor_of(request),
                consultation_id=pk,
                publish_at=form.cleaned_data["publish_at"],
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The publication is planned."))
            return tenant_redirect(request, "procurement:detail", pk=pk)
    return detail_page(request, consultation, schedule_form=form)


@buyer_view
@require_POST
def consultation_unschedule(request: HttpRequest, pk: int) -> HttpResponse:
    consultation_or_404(request, pk)
    return _act(
        request,
        pk,
        lambda: services.unschedule_consultation(
            actor=actor_of(request), consultation_id=pk, request_context=request_context(request)
        ),
        _("The planned publication is withdrawn: the consultation is a draft again."),
    )


@buyer_view
@require_POST
def consultation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    form = forms.CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_consultation(
                actor=actor_of(request),
                consultation_id=pk,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The consultation is cancelled; the reason is public."))
            return tenant_redirect(request, "procurement:detail", pk=pk)
    return detail_page(request, consultation, cancel_form=form)
