"""The public pages: every member's published consultations, the page of one, and the
CPV vocabulary for the pickers. No login; nothing but published facts (the crossings
read the published states only)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from mutualis.core import cpv

from . import crossings, forms

# A picker asks as the person types: each answer is small, the same for everyone, and
# cacheable, so that a shared cache or the browser answers the repeats.
CPV_CACHE_SECONDS = 24 * 3600
CPV_MIN_QUERY = 2


@require_safe
def consultation_list(request: HttpRequest) -> HttpResponse:
    form = forms.PublicSearchForm(request.GET, buyers=crossings.public_buyers())
    filters = crossings.PublicFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = crossings.PublicFilters(
            text=data["q"],
            buyer=data["buyer"],
            procedure=data["procedure"],
            category=data["category"],
            status=data["status"],
        )
    now = timezone.now()
    page = crossings.public_consultations_page(filters, now=now, page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "procurement/public_list.html",
        {
            "form": form,
            "page": page,
            "now": now,
            "query": query.urlencode(),
            "is_filtered": any(request.GET.get(k) for k in form.fields),
        },
    )


@require_safe
def consultation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = crossings.public_consultation(pk)
    if consultation is None:
        raise Http404
    return render_detail(request, consultation)


def render_detail(
    request: HttpRequest, consultation: Any, *, status: int = 200, **bound: Any
) -> HttpResponse:
    """The public page of a consultation; ``bound`` forms of the identification and
    question sections (downloader_views) when a post is shown again with its errors."""
    from . import downloader_views

    return render(
        request,
        "procurement/public_detail.html",
        {
            "consultation": consultation,
            "lots": list(consultation.lots.all()),
            "criteria": list(consultation.criteria.all()),
            "now": timezone.now(),
            "group": crossings.public_group_members(consultation.pk),
            **downloader_views.page_context(request, consultation, **bound),
        },
        status=status,
    )


@require_safe
def cpv_search(request: HttpRequest) -> JsonResponse:
    """``?q=`` words or the first digits of a code: at most ``cpv.MAX_RESULTS`` codes
    of the main vocabulary, in the language of the request."""
    text = request.GET.get("q", "")[:100]
    rows = cpv.search(text) if len(text.strip()) >= CPV_MIN_QUERY else []
    response = JsonResponse(
        {"results": [{"code": row.full_code, "label": cpv.label(row)} for row in rows]}
    )
    patch_cache_control(response, public=True, max_age=CPV_CACHE_SECONDS)
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response
