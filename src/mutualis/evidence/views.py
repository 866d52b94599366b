"""The evidence context's public pages: the time-stamping authority and its description."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from mutualis.core import ratelimit
from mutualis.core.edge import raw_body
from mutualis.core.network import client_address

from . import authority, timestamps
from .errors import AuthorityNotConfigured

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


def _reply(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type=REPLY_TYPE, status=status)


@csrf_exempt  # A protocol endpoint for any RFC 3161 client: no session, no cookie.
@raw_body
@never_cache
@require_POST
def tsa(request: HttpRequest) -> HttpResponse:
    """RFC 3161 over HTTP (section 3.4): a TimeStampReq in, a TimeStampResp out.

    Every refusal is a TimeStampResp with the rejection status, so that a client reads
    why; the body is read only once its announced length is known to be within the bound
    (a client that announces none, or lies, is cut at the bound).
    """
    wait = None
    if settings.MUTUALIS_RATE_LIMITS_ENABLED:
        wait = ratelimit.hit(
            "tsa-address", client_address(request) or "?", settings.MUTUALIS_TSA_RATE_PER_ADDRESS
        )
    if wait is not None:
        response = _reply(
            timestamps.refusal("system_failure", _("Too many requests; try again later.")),
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    limit = int(settings.MUTUALIS_TSA_MAX_REQUEST_BYTES)
    too_large = _reply(
        timestamps.refusal("bad_request", _("The request is too large.")), status=413
    )
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > limit:
        return too_large
    data = request.read(limit + 1)
    if len(data) > limit:
        return too_large
    content_type = request.content_type or ""
    if content_type != QUERY_TYPE:
        return _reply(
            timestamps.refusal(
                "bad_request",
                _("The request must be sent as application/timestamp-query."),
            ),
            status=415,
        )
    return _reply(timestamps.respond(data))


@require_GET
def timestamping(request: HttpRequest) -> HttpResponse:
    """How the platform dates what it receives, with its certificate and the checks
    anyone can run."""
    certificate_pem: str | None = None
    fingerprint = ""
    try:
        signer = authority.load()
    except AuthorityNotConfigured:
        pass  # An instance not set up yet still describes the service.
    else:
        certificate_pem = signer.certificate_pem
        digest = hashlib.sha256(signer.certificate.dump()).hexdigest().upper()
        fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return render(
        request,
        "evidence/timestamping.html",
        {
            "certificate_pem": certificate_pem,
            "fingerprint": fingerprint,
            "tsa_url": request.build_absolute_uri(reverse("evidence:tsa")),
            "policy": settings.MUTUALIS_TSA_POLICY,
            "accuracy_ms": settings.MUTUALIS_TSA_ACCURACY_MS,
        },
    )


@require_GET
def certificate(request: HttpRequest, encoding: str) -> HttpResponse:
    """The authority's certificate, PEM or DER, for ``openssl ts -verify -CAfile``."""
    if encoding not in ("pem", "der"):
        raise Http404
    try:
        signer = authority.load()
    except AuthorityNotConfigured as error:
        raise Http404 from error
    if encoding == "der":
        body: bytes = signer.certificate.dump()
        content_type = "application/pkix-cert"
        filename = "tsa-certificate.der"
    else:
        body = signer.certificate_pem.encode()
        content_type = "application/x-pem-file"
        filename = "tsa-certificate.pem"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
