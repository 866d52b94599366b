from typing import Any

from django.core.paginator import Page
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.views.decorators.http import require_safe

from mutualis.core import registry
from mutualis.core.models import AdhesionStatus, OrganisationKind

from . import colours, selectors
from .forms import DirectoryFilterForm

PAGE_SIZE = 50


def _page_links(request: HttpRequest, page: Page, param: str) -> dict[str, str]:
    """Addresses of the first, previous, next and last pages, keeping every other
    parameter of the query string (the filters); no last page while it is not known."""

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return "?" + query.urlencode()

    links = {}
    if page.has_previous():
        links["previous"] = url(page.previous_page_number())
        if page.number > 2:
            links["first"] = url(1)
    if page.has_next():
        links["next"] = url(page.next_page_number())
        if page.number < page.paginator.num_pages - 1 and getattr(
            page.paginator, "count_is_exact", True
        ):
            links["last"] = url(page.paginator.num_pages)
    return links


def organisation_list(request: HttpRequest) -> HttpResponse:
    form = DirectoryFilterForm(request.GET, departements=selectors.departement_choices())
    filters = form.filters()
    number = selectors.page_number(request.GET.get("page"))
    paginator = selectors.BoundedPaginator(
        selectors.search_organisations(**filters), PAGE_SIZE, number_asked=number
    )
    page = paginator.get_page(number)
    # Labels looked up once, not through ``get_kind_display`` per row (which translates
    # every choice of the field each time).
    kinds, adhesions = dict(OrganisationKind.choices), dict(AdhesionStatus.choices)
    # One ``reverse`` for the page, not one per row: a slug is made of URL-safe characters.
    detail = reverse("directory:detail", args=["-"]).removesuffix("-/")
    page.object_list = [
        {
            **row,
            "url": f"{detail}{row['slug']}/",
            "kind_label": kinds[row["kind"]],
            "adhesion_label": adhesions[row["adhesion_status"]],
        }
        for row in page.object_list
    ]
    return render(
        request,
        "directory/organisation_list.html",
        {
            "form": form,
            "page": page,
            "page_links": _page_links(request, page, "page"),
            "is_filtered": any(filters.values()),
        },
    )


def _sections(request: HttpRequest, organisation: Any) -> list[str]:
    rendered: list[str] = []
    for section in registry.page_sections():
        context = section.context(organisation)
        if context is not None:
            context = {**context, "organisation": organisation}
            rendered.append(render_to_string(section.template, context, request=request))
    return rendered


def organisation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.public_organisation(slug=slug)
    if organisation is None:
        raise Http404
    communes = communes_links = None
    if organisation.is_epci:
        communes = selectors.member_communes_page(
            epci=organisation, page=request.GET.get("communes")
        )
        communes_links = _page_links(request, communes, "communes")
    stylesheet = colours.public_stylesheet(
        primary=organisation.primary_colour, secondary=organisation.secondary_colour
    )
    return render(
        request,
        "directory/organisation_detail.html",
        {
            "organisation": organisation,
            "colours_version": colours.stylesheet_version(stylesheet),
            "communes": communes,
            "communes_links": communes_links,
            # What the services add to a member's public page (registry.PageSection).
            "sections": _sections(request, organisation),
            "is_member": organisation.adhesion_status == AdhesionStatus.MEMBER,
            "is_departement": organisation.kind == OrganisationKind.DEPARTEMENT,
        },
    )


# A day for the address the page links to (its ``v`` names these colours); any other
# address of the stylesheet is checked again each time, with its ETag.
COLOURS_MAX_AGE = 24 * 3600


@require_safe
def organisation_colours(request: HttpRequest, slug: str) -> HttpResponse:
    """The stylesheet of a member's public page (its colours), public like the page."""
    found = selectors.public_colours(slug=slug)
    if found is None:
        raise Http404
    primary, secondary = found
    stylesheet = colours.public_stylesheet(primary=primary, secondary=secondary)
    version = colours.stylesheet_version(stylesheet)
    etag = quote_etag(version)
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(stylesheet, content_type="text/css; charset=utf-8")
    response["ETag"] = etag
    if request.GET.get("v") == version:
        response["Cache-Control"] = f"public, max-age={COLOURS_MAX_AGE}"
    else:
        response["Cache-Control"] = "public, no-cache"
    return response
