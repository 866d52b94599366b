"""The accounting flows' pages, under ``/o/<slug>/legality/pes/``: the member's flows,
one flow with its acknowledgement, the import form. Only the member's accounting agents
(``legality_accountant``) see them; anyone else gets 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect

from ..models import SERVICE
from . import forms, selectors, services, transitions
from .models import ACCOUNTANT_ROLE, PesFlow


def _membership(request: HttpRequest) -> Any:
    return request.membership  # type: ignore[attr-defined]


def _flow(request: HttpRequest, pk: int) -> PesFlow:
    flow = selectors.flow_of(_membership(request).organisation_id, pk)
    if flow is None:
        raise Http404
    return flow


@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def flow_list(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    filters = forms.FlowFilterForm(request.GET or None)
    status = filters.cleaned_data.get("status", "") if filters.is_valid() else ""
    return render(
        request,
        "legality/pes/flows.html",
        {
            "filters": filters,
            "flows": selectors.flows_of(membership.organisation_id, status=status)[:200],
        },
    )


@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def flow_new(request: HttpRequest) -> HttpResponse:
    form = forms.FlowUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            flow = services.import_flow(
                actor=_membership(request),
                upload=services.Upload(upload, upload.name),
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The flow has been imported."))
            return tenant_redirect(request, "legality:pes:flow_detail", pk=flow.pk)
    return render(request, "legality/pes/flow_form.html", {"form": form})


@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def flow_detail(request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(request, pk)
    return render(
        request,
        "legality/pes/flow_detail.html",
        {
            "flow": flow,
            "slug": _membership(request).organisation.slug,
            "sign_form": forms.FlowUploadForm(),
            "can_sign": transitions.allowed(flow, transitions.Event.SIGN),
            "can_cancel": transitions.allowed(flow, transitions.Event.CANCEL),
            "can_retry": transitions.allowed(flow, transitions.Event.RETRY),
        },
    )


@require_POST
@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def flow_sign(request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(request, pk)
    form = forms.FlowUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.sign_flow(
                actor=_membership(request),
                flow_id=flow.pk,
                upload=services.Upload(upload, upload.name),
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The signatures hold: the flow will be sent."))
            return tenant_redirect(request, "legality:pes:flow_detail", pk=flow.pk)
    return render(
        request,
        "legality/pes/flow_detail.html",
        {
            "flow": flow,
            "slug": _membership(request).organisation.slug,
            "sign_form": form,
            "can_sign": True,
            "can_cancel": transitions.allowed(flow, transitions.Event.CANCEL),
        },
        status=400,
    )


@require_POST
@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def flow_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(request, pk)
    try:
        services.cancel_flow(
            actor=_membership(request),
            flow_id=flow.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The flow has been withdrawn."))
    return tenant_redirect(request, "legality:pes:flow_detail", pk=flow.pk)


@require_POST
@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def flow_retry(request: HttpRequest, pk: int) -> HttpResponse:
    flow = _flow(request, pk)
    try:
        services.retry_flow(
            actor=_membership(request),
            flow_id=flow.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The flow will be sent again."))
    return tenant_redirect(request, "legality:pes:flow_detail", pk=flow.pk)
