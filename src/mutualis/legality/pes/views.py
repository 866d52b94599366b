"""The accounting flows' pages, under ``/o/<slug>/legality/pes/``: the member's flows,
one flow with its acknowledgement, the import form; the inbox of the treasury's
returns (``PES_Retour``), one return with its summary, its raw file. Only the member's
accounting agents (``legality_accountant``) see them; anyone else gets 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.files.download import content_disposition, serve_file
from mutualis.core.forms import show_error
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect

from ..models import SERVICE
from . import forms, inbox, selectors, services, transitions
from .models import ACCOUNTANT_ROLE, PesFlow, PesReturn


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


# --- The treasury's returns (PES_Retour) ------------------------------------------------

RETURNS_PAGE = 25


def _return(request: HttpRequest, pk: int) -> PesReturn:
    retour = selectors.return_of(_membership(request).organisation_id, pk)
    if retour is None:
        raise Http404
    return retour


@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def return_list(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    page = Paginator(selectors.returns_of(membership.organisation_id), RETURNS_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "legality/pes/returns.html", {"page": page})


@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def return_detail(request: HttpRequest, pk: int) -> HttpResponse:
    retour = _return(request, pk)
    if retour.read_at is None:
        retour = inbox.open_return(
            actor=_membership(request),
            retour_id=retour.pk,
            request_context=audit.request_context(request),
        )
    return render(
        request,
        "legality/pes/return_detail.html",
        {
            "retour": retour,
            "can_retry": transitions.ack_allowed(retour, transitions.AckEvent.RETRY),
        },
    )


@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)  # type: ignore[arg-type]  # a file response
@require_safe
def return_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The return's raw file, as the treasury dropped it; each download is an event
    on the member's chain before the bytes go out."""
    retour = _return(request, pk)
    inbox.record_download(
        actor=_membership(request),
        retour_id=retour.pk,
        request_context=audit.request_context(request),
    )
    response = serve_file(request, retour.file, public=False)
    name = retour.nomfic or "PES_Retour"
    response["Content-Disposition"] = content_disposition(
        name if name.lower().endswith(".xml") else f"{name}.xml", inline=False
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@role_required(ACCOUNTANT_ROLE)
@subscription_required(SERVICE)
def return_retry(request: HttpRequest, pk: int) -> HttpResponse:
    retour = _return(request, pk)
    try:
        inbox.retry_acquit_retour(
            actor=_membership(request),
            retour_id=retour.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The acknowledgement will be sent again."))
    return tenant_redirect(request, "legality:pes:return_detail", pk=retour.pk)
