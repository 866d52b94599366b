"""Back-office page: the legality transmission's monitoring for the operator (acts sent
but not acknowledged after four hours, acts in error, the return channel's quarantine,
attempts of the last hour, and whether sending is open; the same for the PES flows to
the treasury, with the returns whose acknowledgement has not left)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from mutualis.legality import crossings as legality_crossings
from mutualis.legality import transmission

from .views import staff_view

UNACKNOWLEDGED_AFTER = legality_crossings.UNACKNOWLEDGED_AFTER


@staff_view
def legality_monitoring(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "backoffice/legality_monitoring.html",
        {
            "current": "legality",
            "figures": legality_crossings.monitoring(now, UNACKNOWLEDGED_AFTER),
            "late": legality_crossings.late_acts(now, UNACKNOWLEDGED_AFTER),
            "quarantine": legality_crossings.quarantine(),
            "pes_quarantine": legality_crossings.pes_quarantine(),
            "closed": transmission.closed_reason(now),
            "endpoint": settings.MUTUALIS_LEGALITY_ENDPOINT_URL,
            "windows": settings.MUTUALIS_LEGALITY_WINDOWS,
            "cap": settings.MUTUALIS_LEGALITY_HOURLY_CAP_BYTES,
        },
    )
