"""The public page of the OCDS bulk files, under ``/donnees-ouvertes/ocds/``: the files
(each served like any stored file, from the file store) and the API's addresses."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from mutualis.core.links import absolute_url

from . import bulk
from .releases import ocid_prefix


@require_safe
def bulk_files(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "ocds/bulk_files.html",
        {
            "files": bulk.listing(),
            "releases_url": absolute_url(reverse("api:list_ocds_releases")),
            "record_url": absolute_url(
                reverse("api:get_ocds_record", kwargs={"ocid": f"{ocid_prefix()}-1"})
            ),
            "ocid_prefix": ocid_prefix(),
        },
    )
