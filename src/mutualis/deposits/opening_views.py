"""The opening's pages, under ``/o/<slug>/deposits/consultations/<pk>/opening/``: the
session (start, who has unlocked, the results), the holder's unlocking (their own sealed
key, their share posted from their own session), and the audited downloads of the opened
files, the register and the minutes.

Guards: the tenancy middleware (the organisation in the path), the roles ``buyer`` or
``commission_member`` (anyone else gets 404), an active subscription to procurement. The
services check the roles again (only a buyer starts, only a holder posts a share).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.files.download import serve_file
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect
from mutualis.procurement.models import Consultation

from . import espd_response_views, opening
from .models import OpeningSession

View = Callable[..., HttpResponse]
# A share is about 150 hexadecimal characters: nothing larger is read.
MAX_SHARE_BODY = 4096


def attending_view(view: View) -> View:
    return role_required(*opening.ATTENDING_ROLES)(subscription_required("procurement")(view))


def _actor(request: HttpRequest) -> Any:
    return request.membership  # type: ignore[attr-defined]


def _consultation_or_404(request: HttpRequest, pk: int) -> Consultation:
    consultation = opening.consultation_of(_actor(request), pk)
    if consultation is None:
        raise Http404
    return consultation


def _completed_session_or_404(consultation: Consultation) -> OpeningSession:
    session = opening.session_of(consultation)
    if session is None or session.completed_at is None:
        raise Http404
    return session


def _refusal(exc: MutualisError, status: int = 409) -> JsonResponse:
    return JsonResponse({"error": exc.code, "message": str(exc.message)}, status=status)


@attending_view
@require_safe
def opening_page(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    consultation = _consultation_or_404(request, pk)
    session = opening.session_of(consultation)
    key = opening.opening_key_of(consultation)
    now = timezone.now()
    unlocked = opening.unlocked_holders(session) if session is not None else []
    context: dict[str, Any] = {
        "consultation": consultation,
        "session": session,
        "opening_key": key,
        "before_deadline": now < consultation.response_deadline,
        "can_start": session is None and actor.has_role(opening.BUYER) and key is not None,
        "is_holder": key is not None and opening.sealed_share_of(actor, key) is not None,
        "unlocked_names": opening.holder_names(unlocked, consultation.organisation_id),
        "deposits": [],
    }
    if session is not None and session.completed_at is not None:
        context["deposits"] = opening.opened_deposits(session)
        espd_response_views.attach_opened(
            context["deposits"], actor=actor, session=session, request=request
        )
        context["on_time"] = [d for d in context["deposits"] if not d["deposit"].late]
        context["late"] = [d for d in context["deposits"] if d["deposit"].late]
    return render(request, "deposits/opening_session.html", context)


@attending_view
@require_POST
def opening_start(request: HttpRequest, pk: int) -> HttpResponse:
    _consultation_or_404(request, pk)
    if not _actor(request).has_role(opening.BUYER):
        raise Http404
    try:
        opening.start_session(
            actor=_actor(request), consultation_id=pk, request_context=request_context(request)
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The opening session has started: the key holders may unlock."))
    return tenant_redirect(request, "deposits_opening:session", pk=pk)


@attending_view
@require_safe
def opening_own_key(request: HttpRequest, pk: int) -> HttpResponse:
    """The holder's own sealed identity and sealed share (never another holder's)."""
    _consultation_or_404(request, pk)
    if not _actor(request).has_role(opening.COMMISSION_MEMBER):
        return _refusal(opening.NotAHolder(), 403)
    try:
        sealed = opening.own_sealed_key(actor=_actor(request), consultation_id=pk)
    except MutualisError as exc:
        return _refusal(exc)
    response = JsonResponse(sealed)
    response["Cache-Control"] = "no-store"
    return response


@attending_view
@require_POST
def opening_share(request: HttpRequest, pk: int) -> HttpResponse:
    """A holder's share, hexadecimal, in a JSON body ``{"share": "…"}``."""
    _consultation_or_404(request, pk)
    if not _actor(request).has_role(opening.COMMISSION_MEMBER):
        return _refusal(opening.NotAHolder(), 403)
    if len(request.body) > MAX_SHARE_BODY:
        return _refusal(opening.InvalidShare(), 400)
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _refusal(opening.InvalidShare(), 400)
    share = data.get("share") if isinstance(data, dict) else None
    try:
        progress = opening.submit_share(
            actor=_actor(request),
            consultation_id=pk,
            share=share,
            request_context=request_context(request),
        )
    except opening.InvalidShare as exc:
        return _refusal(exc, 400)
    except MutualisError as exc:
        return _refusal(exc)
    return JsonResponse(
        {"unlocked": progress.unlocked, "threshold": progress.threshold, "opened": progress.opened}
    )


@attending_view
@require_safe
def opening_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Who has unlocked, for the chair's screen, which refreshes itself."""
    consultation = _consultation_or_404(request, pk)
    session = opening.session_of(consultation)
    key = opening.opening_key_of(consultation)
    unlocked = opening.unlocked_holders(session) if session is not None else []
    response = JsonResponse(
        {
            "started": session is not None,
            "opened": session is not None and session.completed_at is not None,
            "unlocked": opening.holder_names(unlocked, consultation.organisation_id),
            "threshold": key.threshold if key is not None else None,
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@attending_view  # type: ignore[arg-type]  # a file response, not an HttpResponse
@require_safe
def opened_file_download(
    request: HttpRequest, pk: int, opened_pk: int, filename: str
) -> HttpResponseBase:
    session = _completed_session_or_404(_consultation_or_404(request, pk))
    opened = opening.opened_file(session, opened_pk)
    if opened is None or opened.stored_file is None:
        raise Http404
    opening.record_read(
        actor=_actor(request), session=session, what="file", target=opened,
        request_context=request_context(request),
    )  # fmt: skip
    return serve_file(request, opened.stored_file, public=False)


@attending_view  # type: ignore[arg-type]  # a file response, not an HttpResponse
@require_safe
def opening_document(request: HttpRequest, pk: int, kind: str) -> HttpResponseBase:
    session = _completed_session_or_404(_consultation_or_404(request, pk))
    stored = {"register": session.register_pdf, "minutes": session.minutes_pdf}.get(kind)
    if stored is None:
        raise Http404
    opening.record_read(
        actor=_actor(request), session=session, what=kind, target=session,
        request_context=request_context(request),
    )  # fmt: skip
    return serve_file(request, stored, public=False)
