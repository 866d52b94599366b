"""The buyer's backup copies, on the deposit register's page (``/o/<slug>/deposits/``):
record one's reception, open it for a listed reason, destroy it unopened. Buyers of the
organisation in the path only; thin: the rules are in ``backup_copies.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect

from . import backup_copies

MAX_FIELD = 2000


def _field(request: HttpRequest, name: str) -> str:
    return str(request.POST.get(name, ""))[: MAX_FIELD + 1]


def _back(request: HttpRequest, pk: int) -> HttpResponse:
    return tenant_redirect(request, "deposit_register:register", pk=pk)


def _run(request: HttpRequest, pk: int, action: Any, success: str) -> HttpResponse:
    try:
        action()
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success)
    return _back(request, pk)


@role_required(backup_copies.BUYER)
@subscription_required("procurement")
@require_POST
def receive(request: HttpRequest, pk: int) -> HttpResponse:
    siren = "".join(_field(request, "siren").split())
    return _run(
        request,
        pk,
        lambda: backup_copies.record_reception(
            actor=request.membership,  # type: ignore[attr-defined]
            consultation_id=pk,
            siren=siren,
            medium=_field(request, "medium"),
            context=request_context(request),
        ),
        _("The backup copy's reception is recorded; keep it sealed."),
    )


@role_required(backup_copies.BUYER)
@subscription_required("procurement")
@require_POST
def open_copy(request: HttpRequest, pk: int, copy_id: int) -> HttpResponse:
    return _run(
        request,
        pk,
        lambda: backup_copies.open_copy(
            actor=request.membership,  # type: ignore[attr-defined]
            copy_id=copy_id,
            reason=_field(request, "reason"),
            note=_field(request, "note"),
            context=request_context(request),
        ),
        _("The backup copy is opened; the reason is recorded."),
    )


@role_required(backup_copies.BUYER)
@subscription_required("procurement")
@require_POST
def destroy(request: HttpRequest, pk: int, copy_id: int) -> HttpResponse:
    return _run(
        request,
        pk,
        lambda: backup_copies.destroy(
            actor=request.membership,  # type: ignore[attr-defined]
            copy_id=copy_id,
            context=request_context(request),
        ),
        _("The backup copy is recorded as destroyed unopened."),
    )
