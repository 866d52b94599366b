"""The observatory's public pages: the territory's and each member's, with their CSV."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mutualis.core.models import Organisation

from . import exports, selectors
from .forms import YearForm
from .models import ALL_YEARS, Refresh

R = TypeVar("R", bound=HttpResponseBase)

# Figures change every half hour: a copy may be kept ten minutes, then revalidated
# (ETag and Last-Modified name the refresh: 304 until the next one). The pages carry the
# language form's CSRF token, so only the visitor's browser keeps them ("private"); the
# CSV holds nothing of the visitor's, so shared caches may keep it too.
CACHE_SECONDS = 600
# The rendered figures of a refresh, kept past the next one (the key names the refresh).
FIGURES_CACHE_SECONDS = 3600
# A chart of CPV divisions shows the largest ones; the table lists them all.
CHART_CPV_DIVISIONS = 10


def _validators(request: HttpRequest, refresh: Refresh | None) -> tuple[str, int | None]:
    """An ETag naming the refresh, the address and the language, and the refresh's time."""
    stamp = f"{refresh.pk if refresh else 0}|{request.get_full_path()}|{get_language()}"
    etag = quote_etag(hashlib.sha256(stamp.encode("utf-8", "replace")).hexdigest()[:32])
    finished = int(refresh.finished_at.timestamp()) if refresh and refresh.finished_at else None
    return etag, finished


def _cached(response: R, etag: str, finished: int | None, *, shared: bool = False) -> R:
    response["ETag"] = etag
    if finished is not None:
        response["Last-Modified"] = http_date(finished)
    if shared:
        patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    else:
        patch_cache_control(response, private=True, max_age=CACHE_SECONDS)
    return response


def _charts(observatory: selectors.Observatory) -> list[dict[str, Any]]:
    tables = observatory.tables
    years = tables["years"]
    cpv = tables["cpv"][:CHART_CPV_DIVISIONS]
    return [
        {
            "id": "chart-years",
            "type": "bar",
            "stacked": True,
            "unit": "currency",
            "labels": [r.label for r in years],
            "datasets": [
                {"label": _("Amount awarded"), "data": [float(r.amount_awarded) for r in years]},
                {
                    "label": _("Estimated amount not yet awarded"),
                    "data": [float(r.amount_estimated) for r in years],
                },
            ],
        },
        {
            "id": "chart-shares",
            "type": "line",
            "unit": "percent",
            "labels": [r.label for r in years],
            "datasets": [
                {"label": _("Share of SMEs among winners"), "data": [r.sme_share for r in years]},
                {
                    "label": _("Share of local businesses among winners"),
                    "data": [r.local_share for r in years],
                },
            ],
        },
        *(
            {
                "id": f"chart-{key}",
                "type": "bar",
                "horizontal": key != "categories",
                "unit": "count",
                "labels": [r.label for r in rows],
                "datasets": [{"label": _("Procedures"), "data": [r.procedures for r in rows]}],
            }
            for key, rows in (
                ("categories", tables["categories"]),
                ("procedures", tables["procedures"]),
                ("cpv", cpv),
            )
        ),
    ]


def _sections(observatory: selectors.Observatory) -> list[dict[str, Any]]:
    year = observatory.year
    titles = {
        "years": (_("Year by year"), _("Figures year by year"), ""),
        "categories": (
            _("By nature of the purchase"),
            _("Figures by nature of the purchase (works, supplies, services)"),
            _(
                "Chart of the procedures by nature of the purchase; the figures are in the "
                "table below."
            ),
        ),
        "procedures": (
            _("By procedure"),
            _("Figures by procedure"),
            _("Chart of the procedures by procedure; the figures are in the table below."),
        ),
        "cpv": (
            _("By CPV division"),
            _("Figures by CPV division (the first two digits of the main CPV code)"),
            _(
                "Chart of the procedures of the ten largest CPV divisions; the figures are in "
                "the table below."
            ),
        ),
    }
    sections = []
    for key in selectors.TABLES:
        title, caption, chart_label = titles[key]
        if key != "years" and year != ALL_YEARS:
            title = f"{title} ({year})"
            caption = f"{caption} ({year})"
        if observatory.organisation is not None:
            caption = f"{caption} — {observatory.organisation.name}"
        sections.append(
            {
                "key": key,
                "title": title,
                "caption": caption,
                "chart_label": chart_label,
                "first_column": exports.first_column(key),
                "rows": observatory.tables[key],
            }
        )
    return sections


def _figures_html(refresh: Refresh, organisation: Organisation | None, year: int) -> str:
    """The figures' part of a page (summary, charts' data, tables), rendered once per
    refresh, scope, year and language, then read from the cache: the figures change only
    with the refresh, whose id is in the key, so a cached copy is never stale. It holds
    nothing of the visitor's (the language form and its CSRF token are outside it)."""
    language = get_language() or ""
    key = f"observatory:{refresh.pk}:{organisation.pk if organisation else 0}:{year}:{language}"
    html: str | None = cache.get(key)
    if html is None:
        observatory = selectors.observatory(refresh=refresh, organisation=organisation, year=year)
        context = {
            "organisation": organisation,
            "year": year,
            "all_years": ALL_YEARS,
            "observatory": observatory,
            "charts": _charts(observatory),
            "sections": _sections(observatory),
            "query": f"?year={year}" if year != ALL_YEARS else "",
        }
        html = render_to_string("observatory/_figures.html", context)
        cache.set(key, html, FIGURES_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, escaped there


def _page(request: HttpRequest, organisation: Organisation | None) -> HttpResponse:
    refresh = selectors.latest_refresh()
    etag, finished = _validators(request, refresh)
    conditional = get_conditional_response(request, etag=etag, last_modified=finished)
    if conditional is not None:
        return _cached(conditional, etag, finished)
    years = selectors.years_of(refresh=refresh, organisation=organisation) if refresh else []
    form = YearForm(request.GET, years=years)
    year, status = form.chosen()
    context: dict[str, Any] = {
        "organisation": organisation,
        "refresh": refresh,
        "form": form,
        "year": year,
    }
    if refresh is not None:
        context["figures_html"] = _figures_html(refresh, organisation, year)
    response = render(request, "observatory/observatory.html", context, status=status)
    return _cached(response, etag, finished) if status == 200 else response


@require_safe
def territory(request: HttpRequest) -> HttpResponse:
    return _page(request, None)


@require_safe
def member(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, get_object_or_404(Organisation, slug=slug))


def _csv(request: HttpRequest, organisation: Organisation | None, table: str) -> HttpResponseBase:
    if table not in selectors.TABLES:
        raise Http404
    refresh = selectors.latest_refresh()
    if refresh is None:
        raise Http404
    years = selectors.years_of(refresh=refresh, organisation=organisation)
    form = YearForm(request.GET, years=years)
    year, status = form.chosen()
    if status != 200:
        message = " ".join(str(m) for m in form.errors.get("year", []))
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    etag, finished = _validators(request, refresh)
    conditional = get_conditional_response(request, etag=etag, last_modified=finished)
    if conditional is not None:
        return _cached(conditional, etag, finished, shared=True)
    observatory = selectors.observatory(refresh=refresh, organisation=organisation, year=year)
    response = StreamingHttpResponse(
        exports.stream(table, observatory.tables[table]), content_type="text/csv; charset=utf-8"
    )
    scope = organisation.slug if organisation else slugify(_("territory"))
    name = f"observatoire-{scope}-{table}" + (f"-{year}" if year != ALL_YEARS else "")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return _cached(response, etag, finished, shared=True)


@require_safe
def territory_csv(request: HttpRequest, table: str) -> HttpResponseBase:
    return _csv(request, None, table)


@require_safe
def member_csv(request: HttpRequest, slug: str, table: str) -> HttpResponseBase:
    return _csv(request, get_object_or_404(Organisation, slug=slug), table)
