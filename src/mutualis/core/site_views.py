"""The pages a public service platform owes its users, whatever the service: legal notices,
the accessibility statement (RGAA), help, and the technical prerequisites with a
workstation test (the buyer-profile arrêté of 22 March 2019 asks for both).

Who runs the platform, who hosts it and how to reach support are settings
(``MUTUALIS_OPERATOR_*``, ``MUTUALIS_HOST_*``, ``MUTUALIS_SUPPORT_*``); the accessibility
results come from the axe-core checks of the browser journeys, summed up in
``core/data/accessibility.json`` by ``make accessibility``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import ratelimit
from .network import client_address

ACCESSIBILITY_RESULTS = Path(__file__).resolve().parent / "data" / "accessibility.json"
# The sizes of the test download, in MiB: a choice, never a number a visitor types.
SAMPLE_SIZES = (1, 5, 20)
_BLOCK = 256 * 1024


def _operator() -> dict[str, str]:
    return {
        "name": settings.MUTUALIS_OPERATOR_NAME or settings.MUTUALIS_PLATFORM_NAME,
        "address": settings.MUTUALIS_OPERATOR_ADDRESS,
        "siret": settings.MUTUALIS_OPERATOR_SIRET,
        "director": settings.MUTUALIS_PUBLICATION_DIRECTOR,
        "contact": settings.MUTUALIS_OPERATOR_CONTACT,
        "host_name": settings.MUTUALIS_HOST_NAME,
        "host_address": settings.MUTUALIS_HOST_ADDRESS,
        "support_email": settings.MUTUALIS_SUPPORT_EMAIL or settings.MUTUALIS_OPERATOR_CONTACT,
        "support_phone": settings.MUTUALIS_SUPPORT_PHONE,
        "support_hours": settings.MUTUALIS_SUPPORT_HOURS,
    }


@require_GET
def legal_notices(request: HttpRequest) -> HttpResponse:
    return render(request, "core/site/legal.html", {"operator": _operator()})


@cache
def accessibility_results() -> dict[str, Any]:
    """The last summary of the axe-core checks (``make accessibility``); empty if none."""
    try:
        results: dict[str, Any] = json.loads(ACCESSIBILITY_RESULTS.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return results


@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    results = accessibility_results()
    pages = results.get("pages", [])
    context = {
        "operator": _operator(),
        "results": results,
        "pages": pages,
        "violations": sum(len(p.get("violations", [])) for p in pages),
        "status": settings.MUTUALIS_ACCESSIBILITY_STATUS,
    }
    return render(request, "core/site/accessibility.html", context)


@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "core/site/help.html", {"operator": _operator()})


@require_GET
def prerequisites(request: HttpRequest) -> HttpResponse:
    return render(
        request, "core/site/prerequisites.html", {"operator": _operator(), "sizes": SAMPLE_SIZES}
    )


@never_cache
@require_GET
def clock(request: HttpRequest) -> JsonResponse:
    """The server's time, for the workstation test's clock offset (milliseconds since the
    epoch; the browser takes the middle of its round trip)."""
    return JsonResponse({"now_ms": int(time.time() * 1000)})


def _bytes(size: int) -> Iterator[bytes]:
    # Random bytes, so that no compression on the way shortens the test; one block,
    # repeated: the measure is of the network, not of the server's random generator.
    block = os.urandom(_BLOCK)
    for _index in range(size // _BLOCK):
        yield block


@never_cache
@require_GET
def sample(request: HttpRequest, size: int) -> HttpResponseBase:
    """``size`` MiB of random bytes, for the workstation test's download speed."""
    if size not in SAMPLE_SIZES:
        return JsonResponse({"message": _("Unknown test size.")}, status=404)
    wait = ratelimit.hit(
        "workstation_sample", client_address(request) or "?", settings.MUTUALIS_SAMPLE_RATE
    )
    if wait is not None:
        response = JsonResponse(
            {"message": _("Too many test downloads; try again later.")}, status=429
        )
        response["Retry-After"] = str(wait)
        return response
    length = size * 1024 * 1024
    streamed = StreamingHttpResponse(_bytes(length), content_type="application/octet-stream")
    streamed["Content-Length"] = str(length)
    streamed["Content-Disposition"] = f'attachment; filename="test-{size}mo.bin"'
    return streamed
