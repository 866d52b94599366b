"""The integrity pages, never public: the buyer's own (``/o/<slug>/integrity/``, its
buyers and administrators), the section on each of its consultations, and the
operator's (``/operator/integrity/``, operator staff only). Anyone else gets 404 (a
person without the role, another member's agent, a company's representative); anonymous
people the login page. Thin: the figures come from ``selectors`` and ``crossings``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from mutualis.core.permissions import is_operator_staff, role_required
from mutualis.identity import crossings as identity_crossings

from . import crossings, explanations, selectors, sources
from .indicators import Indicator

PER_PAGE = 50
# An indicator code or a page number is short: anything longer is no filter at all.
MAX_PARAMETER = 20


def _parameter(request: HttpRequest, name: str) -> str:
    value = str(request.GET.get(name, ""))
    return value if len(value) <= MAX_PARAMETER and value.isprintable() else ""


def _indicator_rows(figures: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"definition": definition, "figure": figures.get(code)}
        for code, definition in explanations.DEFINITIONS.items()
    ]


def _common() -> dict[str, Any]:
    return {
        "verdict": explanations.VERDICT,
        "sources": sources.SOURCES,
        "computation": selectors.last_computation(),
        "indicator_choices": Indicator.choices,
        "method": list(explanations.DEFINITIONS.values()),
    }


@role_required(*selectors.READERS)
@require_safe
def buyer_page(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    organisation_id = membership.organisation_id
    indicator = _parameter(request, "indicator")
    indicator = indicator if indicator in Indicator.values else ""
    flags = selectors.flags_of(organisation_id=organisation_id, indicator=indicator or None)
    page = Paginator(flags, PER_PAGE).get_page(_parameter(request, "page") or 1)
    return render(
        request,
        "integrity/buyer.html",
        {
            **_common(),
            "organisation": membership.organisation,
            "rows": _indicator_rows(selectors.indicators_of(organisation_id=organisation_id)),
            "page": page,
            "flags": [explanations.explain(flag) for flag in page.object_list],
            "indicator": indicator,
        },
    )


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The flags of one consultation on its buyer's page, for the buyer's readers."""
    membership = getattr(request, "membership", None)
    if membership is None or not selectors.can_read(membership) or not consultation.is_public:
        return None
    if consultation.organisation_id != membership.organisation_id:
        return None
    flags = selectors.flags_of_consultation(
        organisation_id=membership.organisation_id, consultation_id=consultation.pk
    )
    return {
        "flags": [explanations.explain(flag) for flag in flags],
        "verdict": explanations.VERDICT,
        "integrity_url": reverse("integrity:home", kwargs={"org": membership.organisation.slug}),
    }


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Operator staff only: anonymous people go to the login page, others get 404 (the
    back office's rule; that context is above this one and is not imported)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        memberships = identity_crossings.memberships_of_user(request.user)
        if not any(is_operator_staff(m) for m in memberships):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


@operator_required
@require_safe
def operator_page(request: HttpRequest) -> HttpResponse:
    buyers = crossings.buyers_for_operator()
    codes = list(explanations.DEFINITIONS)
    return render(
        request,
        "integrity/operator.html",
        {
            **_common(),
            "definitions": [explanations.DEFINITIONS[code] for code in codes],
            "buyers": [
                {"buyer": buyer, "cells": [buyer.indicators.get(code) for code in codes]}
                for buyer in buyers
            ],
        },
    )


@operator_required
@require_safe
def operator_buyer_page(request: HttpRequest, pk: int) -> HttpResponse:
    organisation, figures, flags = crossings.buyer_for_operator(pk)
    if organisation is None:
        raise Http404
    page = Paginator(flags, PER_PAGE).get_page(_parameter(request, "page") or 1)
    return render(
        request,
        "integrity/operator_buyer.html",
        {
            **_common(),
            "organisation": organisation,
            "rows": _indicator_rows({row.indicator: row for row in figures}),
            "page": page,
            "flags": [explanations.explain(flag) for flag in page.object_list],
        },
    )
