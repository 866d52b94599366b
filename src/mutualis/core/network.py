"""Where a request comes from, behind the operator's reverse proxies."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The address a login comes from.

    Behind ``MUTUALIS_TRUSTED_PROXY_COUNT`` reverse proxies, each appending the address
    it received the request from to X-Forwarded-For, the client is the entry that many
    places from the end: entries further left are whatever the client itself sent.
    """
    count = settings.MUTUALIS_TRUSTED_PROXY_COUNT
    if count > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= count:
            try:
                return str(ipaddress.ip_address(forwarded[-count]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")
