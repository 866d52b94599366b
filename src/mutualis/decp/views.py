"""The DECP pages: public (the bulk files, each buyer's completeness) and the buyer's
(its entries, each with its state, due date and what to fix). Thin: the rules are in
``entries.py``, ``clock.py`` and ``crossings.py``."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from mutualis.core.models import Organisation
from mutualis.core.permissions import role_required

from . import bulk, crossings, entries, validation
from .models import DecpEntry, Status

READERS = ("buyer", "commission_member")
MAX_SLUG = 120
# The largest key a database holds (PostgreSQL's bigint): a larger number is no row.
MAX_ID = 2**63 - 1


@require_safe
def public_index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "decp/public_index.html",
        {"files": bulk.listed(), "api_url": "/api/v1/docs#/decp"},
    )


def public_figures(organisation: Organisation) -> dict[str, Any]:
    now = timezone.now()
    return {
        "figures": crossings.completeness(organisation, today=timezone.localdate(now)),
        "as_of": now,
    }


@require_safe
def public_buyer(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = (
        Organisation.objects.filter(slug=slug[:MAX_SLUG]).exclude(kind="operator").first()
    )
    if organisation is None:
        raise Http404
    return render(
        request,
        "decp/public_buyer.html",
        {"organisation": organisation, **public_figures(organisation)},
    )


def _row(entry: DecpEntry, slug: str) -> dict[str, Any]:
    return {
        "entry": entry,
        "late": entry.published_at is None and entry.due_on < timezone.localdate(),
        "url": reverse("decp:entry", kwargs={"org": slug, "contract_id": entry.contract_id}),
    }


@require_safe
@role_required(*READERS)
def entry_list(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    slug = membership.organisation.slug
    rows = [_row(e, slug) for e in entries.entries_of(organisation_id=membership.organisation_id)]
    return render(
        request,
        "decp/entries.html",
        {"rows": rows, **public_figures(membership.organisation)},
    )


@require_safe
@role_required(*READERS)
def entry_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    if not 0 < contract_id <= MAX_ID:
        raise Http404
    entry = entries.entry_of(organisation_id=membership.organisation_id, contract_id=contract_id)
    if entry is None:
        raise Http404
    return render(
        request,
        "decp/entry.html",
        {
            **_row(entry, membership.organisation.slug),
            "problems": [
                {"field": p.get("field", ""), "hint": validation.hint(p), "detail": p.get("detail")}
                for p in entry.problems
            ],
            "data": json.dumps(entry.data, ensure_ascii=False, indent=2) if entry.data else "",
            "contract_url": reverse(
                "contracts:contract",
                kwargs={"org": membership.organisation.slug, "contract_id": contract_id},
            ),
            "is_incomplete": entry.status == Status.INCOMPLETE,
        },
    )


def contract_section(request: Any, contract: Any) -> dict[str, Any] | None:
    """The DECP entry of a contract, on the buyer's page of the contract: its state
    (what to fix, ready, published), the publication clock and its due date, a link to
    the entry. None while the contract has no entry (not notified, or under the
    threshold)."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    entry = entries.entry_of(organisation_id=membership.organisation_id, contract_id=contract.pk)
    if entry is None:
        return None
    row = _row(entry, membership.organisation.slug)
    today = timezone.localdate()
    return {
        **row,
        "days_left": (entry.due_on - today).days if entry.published_at is None else None,
        "problems": [
            {"field": p.get("field", ""), "hint": validation.hint(p)} for p in entry.problems
        ]
        if entry.status == Status.INCOMPLETE
        else [],
        "statuses": Status,
    }


def consultation_section(request: Any, consultation: Any) -> dict[str, Any] | None:
    """The DECP entries of a consultation's contracts, on the buyer's page."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    found = [
        _row(e, membership.organisation.slug)
        for e in entries.entries_of_consultation(
            organisation_id=membership.organisation_id, consultation_id=consultation.pk
        )
    ]
    if not found:
        return None
    return {
        "rows": found,
        "list_url": reverse("decp:entries", kwargs={"org": membership.organisation.slug}),
    }
