"""The public pages: every member's published consultations, the page of one, and the
CPV vocabulary for the pickers. No login; nothing but published facts (the crossings
read the published states only)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.core.cache import cache
from django.core.paginator import Page
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from mutualis.core import cpv, registry
from mutualis.core.models import Organisation, OrganisationKind

from . import crossings, deadlines, search

# A picker asks as the person types: each answer is small, the same for everyone, and
# cacheable, so that a shared cache or the browser answers the repeats.
CPV_CACHE_SECONDS = 24 * 3600
CPV_MIN_QUERY = 2


# The départements of the filter form change with a territory import: a few minutes
# late is fine, and each page saves a query.
CHOICES_CACHE_SECONDS = 300


def departement_choices() -> list[tuple[str, str]]:
    def read() -> list[tuple[str, str]]:
        rows = Organisation.objects.filter(kind=OrganisationKind.DEPARTEMENT).order_by("insee_code")
        return [(o.insee_code, f"{o.insee_code} - {o.name}") for o in rows]

    choices = cache.get_or_set("procurement:portal:departements", read, CHOICES_CACHE_SECONDS)
    return list(choices or [])


# A placeholder identifier: a consultation's address is made once per page, not
# reversed for every row (as the API does, ``api.detail_url_maker``).
_PLACEHOLDER = 999_999_999


# A line of the results (procurement/public_list.html renders its table around them).
_ROW_HTML = (
    '<tr><th scope="row"><a href="{}">{}</a><br><small>{} · CPV {}</small></th>'
    '<td><a href="?buyer={}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>'
)


@dataclass(frozen=True, slots=True)
class Row:
    """A line of the results, as the page shows it: its address, labels and deadline in
    Paris computed once here, its markup made by ``__html__`` (every value escaped).
    Rendered by the template, the twenty lines of a page cost it more than its query
    (bench/RESULTS.md, "procurement search")."""

    url: str
    title: str
    reference: str
    main_cpv: str
    buyer_query: str
    buyer_name: str
    procedure: str
    deadline: str
    status: str

    def __html__(self) -> str:
        # ``format_html`` escapes each value through Django's lazy-aware ``escape``;
        # every value here is a ``str``, escaped the same by ``html.escape`` at a
        # fraction of the cost (twenty rows, nine values each, on every page).
        return SafeString(
            _ROW_HTML.format(
                *(
                    html.escape(str(value))
                    for value in (
                        self.url,
                        self.title,
                        self.reference,
                        self.main_cpv,
                        self.buyer_query,
                        self.buyer_name,
                        self.procedure,
                        self.deadline,
                        self.status,
                    )
                )
            )
        )

    # The template writes ``{{ row }}``: its text is its markup (escaped above).
    __str__ = __html__


def _rows(page: Page[Any], now: datetime) -> list[Row]:
    head, tail = reverse("consultations:detail", kwargs={"pk": _PLACEHOLDER}).split(
        str(_PLACEHOLDER)
    )
    is_open, closed = gettext("Open"), gettext("Closed")
    return [
        Row(
            url=f"{head}{c.pk}{tail}",
            title=c.title,
            reference=c.reference,
            main_cpv=c.main_cpv,
            buyer_query=quote(c.organisation.slug, safe="/"),
            buyer_name=c.organisation.name,
            procedure=c.get_procedure_display(),
            deadline=deadlines.display(c.response_deadline),
            status=(
                c.get_cancellation_kind_display()
                if c.state == "cancelled"
                else is_open
                if c.is_open(now)
                else closed
            ),
        )
        for c in page.object_list
    ]


def _page_links(request: HttpRequest, page: Page[Any]) -> dict[str, str]:
    """Addresses of the previous and next pages, keeping every filter of the query."""

    def url(number: int) -> str:
        query = request.GET.copy()
        query["page"] = str(number)
        return "?" + query.urlencode()

    links = {}
    if page.has_previous():
        links["previous"] = url(page.previous_page_number())
        if page.number > 2:
            links["first"] = url(1)
    if page.has_next():
        links["next"] = url(page.next_page_number())
    return links


@require_safe
def consultation_list(request: HttpRequest) -> HttpResponse:
    form = search.SearchForm(request.GET, departement_choices=departement_choices())
    now = timezone.now()
    results = None
    feed_query = ""
    if form.is_valid():
        criteria = form.search()
        results = crossings.public_search_page(criteria, now=now, page=request.GET.get("page"))
        feed_query = criteria.as_query().urlencode()
    return render(
        request,
        "procurement/public_list.html",
        {
            "form": form,
            "results": results,
            "page": results.page if results else None,
            "rows": _rows(results.page, now) if results else [],
            "page_links": _page_links(request, results.page) if results else {},
            "now": now,
            "feed_query": feed_query,
            "is_filtered": any(request.GET.get(k) for k in search.PARAMETERS),
        },
        status=200 if results else 400,
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
            "sections": registry.render_consultation_sections(request, consultation, "public"),
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
