"""The public verification page of an acknowledged act, reached through the QR code of
its stamp: no login, nothing but the act's public facts (``crossings.verification_of``),
and its files once the member has published it.

A wrong token answers 404 like a token that never existed, and every address may try
only so many lookups (``MUTUALIS_LEGALITY_VERIFY_RATE``), fewer wrong ones
(``MUTUALIS_LEGALITY_VERIFY_MISS_RATE``): the tokens are unguessable, the limits make
trying pointless and cheap to refuse.
"""

from __future__ import annotations

import uuid
from typing import NoReturn

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mutualis.core import ratelimit
from mutualis.core.files.download import serve_file
from mutualis.core.network import client_address

from . import crossings


def _refused(request: HttpRequest) -> HttpResponse | None:
    address = client_address(request) or "?"
    wait = ratelimit.over(
        "legality-verify-miss", address, settings.MUTUALIS_LEGALITY_VERIFY_MISS_RATE
    ) or ratelimit.hit("legality-verify", address, settings.MUTUALIS_LEGALITY_VERIFY_RATE)
    if wait is None:
        return None
    response = render(
        request,
        "legality/public_refused.html",
        {"message": _("Too many verification requests; try again later.")},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def _missed(request: HttpRequest) -> NoReturn:
    ratelimit.hit(
        "legality-verify-miss",
        client_address(request) or "?",
        settings.MUTUALIS_LEGALITY_VERIFY_MISS_RATE,
    )
    raise Http404


@require_safe
def verify(request: HttpRequest, token: str) -> HttpResponse:
    refused = _refused(request)
    if refused is not None:
        return refused
    verification = crossings.verification_of(token)
    if verification is None:
        _missed(request)
    response = render(
        request,
        "legality/public_verify.html",
        {"verification": verification, "token": token},
    )
    # The address is the secret: never sent on to another site, never kept by a cache.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def file(request: HttpRequest, token: str, file_id: uuid.UUID, name: str) -> HttpResponseBase:
    refused = _refused(request)
    if refused is not None:
        return refused
    stored = crossings.published_file_of(token, file_id)
    if stored is None:
        _missed(request)
    return serve_file(request, stored, public=False)
