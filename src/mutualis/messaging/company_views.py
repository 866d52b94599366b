"""A company's messaging pages, under ``/c/<siren>/messages/``: its inbox (its threads
with every buyer, unread counts), a new thread on a consultation it may write about, a
thread, and the attached files. Its representatives only (the tenancy middleware answers
404 to anyone else), its own threads only. Opening a thread records the first reading of
the buyer's messages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.files.download import serve_file
from mutualis.core.tenancy import tenant_redirect
from mutualis.procurement import crossings as procurement_crossings
from mutualis.procurement.models import Consultation

from . import correspondents, errors, selectors, services
from .forms import MessageForm, NewCompanyMessageForm
from .models import Thread


def _consultations(company_id: int) -> list[tuple[int, str]]:
    """The consultations the company may open a thread on (or already has one on)."""
    ids = correspondents.consultations_of(company_id=company_id)
    ids |= selectors.consultations_in_threads(company_id=company_id)
    found = {c.pk: c for c in procurement_crossings.public_consultations_among(sorted(ids))}
    for pk in sorted(ids - set(found)):
        # An offer phase: the company's only while it is invited to it.
        phase = procurement_crossings.depositable_consultation(pk, [company_id])
        if phase is not None:
            found[pk] = phase
    return [
        (c.pk, f"{c.organisation.name} — {c.reference} — {c.title}")
        for c in sorted(found.values(), key=lambda c: (c.organisation.name, c.reference, c.pk))
    ]


def _inbox(
    request: HttpRequest, form: NewCompanyMessageForm | None = None, status: int = 200
) -> HttpResponse:
    company_id = request.representation.company_id  # type: ignore[attr-defined]
    if form is None:
        form = NewCompanyMessageForm(consultations=_consultations(company_id))
    response = render(
        request,
        "messaging/company_inbox.html",
        {"threads": selectors.inbox(company_id=company_id), "form": form},
        status=status,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _refused(form: Any, exc: MutualisError) -> int:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))
    return 429 if isinstance(exc, errors.MessageLimitReached) else 400


@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    return _inbox(request)


@require_POST
def write(request: HttpRequest) -> HttpResponse:
    representative = request.representation  # type: ignore[attr-defined]
    form = NewCompanyMessageForm(
        request.POST,
        request.FILES,
        consultations=_consultations(representative.company_id),
    )
    if not form.is_valid():
        return _inbox(request, form, status=400)
    try:
        message = services.send_from_company(
            representative=representative,
            consultation_id=form.cleaned_data["consultation"],
            draft=form.draft(),
            context=request_context(request),
        )
    except Consultation.DoesNotExist as exc:
        raise Http404 from exc
    except MutualisError as exc:
        return _inbox(request, form, status=_refused(form, exc))
    messages.success(request, _("The message is sent; the buyer is told by e-mail."))
    return tenant_redirect(request, "company_messages:thread", pk=message.thread_id)


def _thread_page(
    request: HttpRequest, thread: Thread, form: MessageForm | None = None, status: int = 200
) -> HttpResponse:
    siren = thread.company.siren
    response = render(
        request,
        "messaging/thread.html",
        {
            "thread": thread,
            "consultation": thread.consultation,
            "messages_list": selectors.messages_of_thread_for_company(thread),
            "side": "company",
            "form": form or MessageForm(),
            "reply_url": reverse(
                "company_messages:reply", kwargs={"company": siren, "pk": thread.pk}
            ),
            "back_url": reverse("company_messages:inbox", kwargs={"company": siren}),
            "attachment_route": "company_messages:attachment",
        },
        status=status,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def thread_page(request: HttpRequest, pk: int) -> HttpResponse:
    thread = services.read_as_company(
        representative=request.representation,  # type: ignore[attr-defined]
        thread_id=pk,
    )
    if thread is None:
        raise Http404
    return _thread_page(request, thread)


@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    representative = request.representation  # type: ignore[attr-defined]
    thread = selectors.thread_for_company(company_id=representative.company_id, thread_id=pk)
    if thread is None:
        raise Http404
    form = MessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _thread_page(request, thread, form, status=400)
    try:
        services.send_from_company(
            representative=representative,
            consultation_id=thread.consultation_id,
            draft=form.draft(),
            context=request_context(request),
        )
    except Consultation.DoesNotExist as exc:
        raise Http404 from exc
    except MutualisError as exc:
        return _thread_page(request, thread, form, status=_refused(form, exc))
    messages.success(request, _("The message is sent; the buyer is told by e-mail."))
    return tenant_redirect(request, "company_messages:thread", pk=thread.pk)


@require_safe
def attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    found = selectors.attachment_for_company(
        company_id=request.representation.company_id,  # type: ignore[attr-defined]
        thread_id=pk,
        attachment_id=attachment_id,
    )
    if found is None:
        raise Http404
    return serve_file(request, found.file, public=False)  # type: ignore[return-value]
