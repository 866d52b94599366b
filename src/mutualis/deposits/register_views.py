"""The buyer's deposit register, under ``/o/<slug>/deposits/``: who deposited on a
consultation, when, and which files (names, sizes, SHA-256) — never their contents, which
nobody can read before the opening. Buyers and commission members of the organisation in
the path; anyone else gets 404. Thin: the reading is in ``services.py``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.procurement import selectors as procurement_selectors

from . import backup_copies, backup_transitions, services
from .models import BackupMedium, BackupOpenReason, BackupState

READERS = ("buyer", "commission_member")


def _consultation_or_404(request: HttpRequest, pk: int) -> Any:
    membership = request.membership  # type: ignore[attr-defined]
    consultation = procurement_selectors.consultation(
        organisation_id=membership.organisation_id, consultation_id=pk
    )
    if consultation is None or not consultation.is_public:
        raise Http404
    return consultation


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The link to the register on the buyer's consultation page (published ones)."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    if not consultation.is_public:
        return None
    return {
        "register_url": reverse(
            "deposit_register:register",
            kwargs={"org": membership.organisation.slug, "pk": consultation.pk},
        ),
        "register_visible": services.register_visible(consultation),
    }


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def register(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = _consultation_or_404(request, pk)
    visible = services.register_visible(consultation)
    lines = (
        services.register_of(
            organisation_id=consultation.organisation_id, consultation_id=consultation.pk
        )
        if visible
        else []
    )
    copies = backup_copies.copies_of(
        organisation_id=consultation.organisation_id, consultation_id=consultation.pk
    )
    if not visible:
        # Before the deadline an announcement would tell who deposited: only the copies
        # the buyer itself received show.
        copies = [copy for copy in copies if copy.state != BackupState.ANNOUNCED]
    membership = request.membership  # type: ignore[attr-defined]
    # What each copy's state allows, from the transition table (the template asks).
    backup_rows = [
        {
            "copy": copy,
            "can_open": backup_transitions.allowed(copy, backup_transitions.Event.OPEN),
            "can_destroy": backup_transitions.allowed(copy, backup_transitions.Event.DESTROY),
        }
        for copy in copies
    ]
    return render(
        request,
        "deposits/register.html",
        {
            "consultation": consultation,
            "backup_rows": backup_rows,
            "backup_actions": membership.has_role(backup_copies.BUYER),
            "backup_media": BackupMedium.choices,
            "backup_reasons": BackupOpenReason.choices,
            "visible": visible,
            "on_time": [line for line in lines if not line.deposit.late],
            "late": [line for line in lines if line.deposit.late],
            "now": timezone.now(),
        },
    )


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def register_csv(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = _consultation_or_404(request, pk)
    if not services.register_visible(consultation):
        raise Http404
    lines = services.register_of(
        organisation_id=consultation.organisation_id, consultation_id=consultation.pk
    )
    response = HttpResponse(services.register_csv(lines), content_type="text/csv; charset=utf-8")
    name = slugify(consultation.reference) or str(consultation.pk)
    response["Content-Disposition"] = f'attachment; filename="deposits-{name}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
