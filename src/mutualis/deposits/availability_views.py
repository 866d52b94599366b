"""The public availability record: the probes of the deposit path, with their outcome,
duration and clock offset, over a window (``?from=…&to=…``, ISO 8601, at most a week);
the last 24 hours when none is given. HTML for people, JSON for programs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from . import availability, services

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=7)
MAX_PARAMETER = 40


class BadWindow(ValueError):
    pass


def _moment(value: str) -> datetime:
    if len(value) > MAX_PARAMETER or "\x00" in value:
        raise BadWindow(_("A date and time is at most 40 characters, in ISO 8601."))
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadWindow(
            _("%(value)s is not a date and time in ISO 8601 (for example 2026-12-04T11:00).")
            % {"value": value}
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def window_of(request: HttpRequest, *, now: datetime) -> tuple[datetime, datetime]:
    """The window asked for, or the last 24 hours; ``BadWindow`` says what is wrong."""
    raw_start = request.GET.get("from", "")
    raw_end = request.GET.get("to", "")
    end = _moment(raw_end) if raw_end else now
    start = _moment(raw_start) if raw_start else end - DEFAULT_WINDOW
    if start > end:
        raise BadWindow(_("The start of the window comes after its end."))
    if end - start > MAX_WINDOW:
        raise BadWindow(_("A window is at most seven days long."))
    return start, end


def _summary(probes: list[Any]) -> dict[str, Any]:
    durations = sorted(p.duration_ms for p in probes if p.ok and p.duration_ms is not None)
    return {
        "count": len(probes),
        "ok": sum(1 for p in probes if p.ok),
        "failed": sum(1 for p in probes if not p.ok),
        "median_ms": durations[len(durations) // 2] if durations else None,
        "over_http": availability.probes_over_http(),
    }


@require_safe
def record(request: HttpRequest) -> HttpResponse:
    """The availability record, as a page."""
    now = timezone.now()
    try:
        start, end = window_of(request, now=now)
    except BadWindow as error:
        return render(
            request,
            "deposits/availability.html",
            {"error": str(error), "now": now, "over_http": availability.probes_over_http()},
            status=400,
        )
    probes = availability.probes_between(start, end)
    return render(
        request,
        "deposits/availability.html",
        {"probes": probes, "start": start, "end": end, "now": now, **_summary(probes)},
    )


@require_safe
def record_json(request: HttpRequest) -> HttpResponse:
    """The availability record, as JSON."""
    now = timezone.now()
    try:
        start, end = window_of(request, now=now)
    except BadWindow as error:
        return JsonResponse({"code": "invalid_window", "message": str(error)}, status=400)
    probes = availability.probes_between(start, end)
    return JsonResponse(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            **_summary(probes),
            "probes": [
                {
                    "probed_at": p.probed_at.isoformat(),
                    "ok": p.ok,
                    "duration_ms": p.duration_ms,
                    "clock_offset_ms": p.clock_offset_ms,
                    "clock_source": p.clock_source,
                    "detail": p.detail if not p.ok else "",
                }
                for p in probes
            ],
        }
    )


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """A consultation that takes sealed deposits links the record of its last hour."""
    if consultation.is_test or not services.takes_deposits(consultation):
        return None
    deadline = consultation.response_deadline
    start = deadline - availability.PROBE_WINDOW
    return {
        "availability_start": start,
        "availability_end": deadline,
        "availability_url": reverse("deposits_proof:availability")
        + "?"
        + urlencode({"from": start.isoformat(), "to": deadline.isoformat()}),
    }
