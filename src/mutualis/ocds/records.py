"""The record of a procedure, compiled by ``ocdsmerge`` from its stored releases (never by
hand, never stored: the releases are the source, the record follows from them)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone

from mutualis.core.links import absolute_url

from . import packages, schemas
from .models import Release


def record(ocid: str) -> dict[str, Any] | None:
    """The record of ``ocid``: its releases embedded, in the order they were stored, and
    the compiled release; None when no release has this ocid."""
    rows = list(Release.objects.filter(ocid=ocid).order_by("pk").values_list("data", flat=True))
    if not rows:
        return None
    compiled = schemas.merger().create_compiled_release(rows)
    return {"ocid": ocid, "releases": rows, "compiledRelease": compiled}


def record_package(ocid: str) -> dict[str, Any] | None:
    found = record(ocid)
    if found is None:
        return None
    uri = absolute_url(reverse("api:get_ocds_record", kwargs={"ocid": ocid}))
    return {**packages.metadata(uri=uri, published=timezone.now()), "records": [found]}
