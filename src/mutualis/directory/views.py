from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from mutualis.core import crossings
from mutualis.core.models import AdhesionStatus, Organisation, OrganisationKind

from . import selectors


def organisation_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "kind": request.GET.get("kind", ""),
        "departement": request.GET.get("departement", ""),
        "adhesion": request.GET.get("adhesion", ""),
        "text": request.GET.get("q", ""),
    }
    qs = selectors.search_organisations(**filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "directory/organisation_list.html",
        {
            "page": page,
            "filters": filters,
            "kinds": OrganisationKind.choices,
            "adhesions": AdhesionStatus.choices,
            "departements": selectors.departements(),
        },
    )


def organisation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = get_object_or_404(
        Organisation.objects.select_related("departement", "region", "epci"), slug=slug
    )
    return render(
        request,
        "directory/organisation_detail.html",
        {
            "organisation": organisation,
            "subscriptions": crossings.active_subscriptions_public(organisation.pk),
        },
    )
