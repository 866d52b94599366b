"""The buyer's messaging pages, under ``/o/<slug>/messages/``: a consultation's threads
(one per company, with their unread counts), a thread, writing to one company or to
every company that responded, and the attached files. Buyers of the organisation in the
path write; commission members read; anyone else gets 404. Thin: the rules are in
``services.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.companies.models import Company
from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.files.download import serve_file
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect
from mutualis.procurement import selectors as procurement_selectors
from mutualis.procurement.models import Consultation

from . import correspondents, errors, selectors, services
from .forms import ALL, BuyerMessageForm, NewBuyerMessageForm
from .models import MAX_BODY, MAX_SUBJECT, Thread

READERS = services.READERS


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The messaging section of the buyer's page of a published consultation."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    if not consultation.is_public:
        return None
    organisation_id = membership.organisation_id
    return {
        "messages_url": reverse(
            "messaging:consultation",
            kwargs={"org": membership.organisation.slug, "pk": consultation.pk},
        ),
        "threads": selectors.threads_of_consultation(
            organisation_id=organisation_id, consultation_id=consultation.pk
        ).count(),
        "unread": selectors.unread_for_buyer(
            organisation_id=organisation_id, consultation_id=consultation.pk
        ),
    }


def _consultation(membership: Any, pk: int) -> Consultation:
    consultation = procurement_selectors.consultation(
        organisation_id=membership.organisation_id, consultation_id=pk
    )
    if consultation is None or not consultation.is_public:
        raise Http404
    return consultation


def _companies(membership: Any, consultation: Consultation) -> list[tuple[int, str]]:
    """The companies the buyer may write to: correspondents and those already in a thread."""
    ids = correspondents.companies_of(
        organisation_id=membership.organisation_id, consultation_id=consultation.pk
    )
    ids |= selectors.companies_in_threads(
        organisation_id=membership.organisation_id, consultation_id=consultation.pk
    )
    return [
        (company.pk, f"{company.name} ({company.siren})")
        for company in Company.objects.filter(pk__in=ids).order_by("name", "pk")
    ]


def _consultation_page(
    request: HttpRequest,
    consultation: Consultation,
    form: NewBuyerMessageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    can_write = "buyer" in membership.role_codes()
    if can_write and form is None:
        form = NewBuyerMessageForm(companies=_companies(membership, consultation))
    response = render(
        request,
        "messaging/consultation.html",
        {
            "consultation": consultation,
            "threads": selectors.threads_of_consultation(
                organisation_id=membership.organisation_id, consultation_id=consultation.pk
            ),
            "form": form if can_write else None,
            "max_subject": MAX_SUBJECT,
            "max_body": MAX_BODY,
        },
        status=status,
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _refused(form: Any, exc: MutualisError) -> int:
    """Show a refusal on the form; the status to answer with."""
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))
    return 429 if isinstance(exc, errors.MessageLimitReached) else 400


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def consultation_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _consultation_page(request, _consultation(request.membership, pk))  # type: ignore[attr-defined]


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def write(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    consultation = _consultation(membership, pk)
    form = NewBuyerMessageForm(
        request.POST, request.FILES, companies=_companies(membership, consultation)
    )
    if not form.is_valid():
        return _consultation_page(request, consultation, form, status=400)
    recipient = form.cleaned_data["recipient"]
    try:
        if recipient == ALL:
            sent = services.send_to_respondents(
                actor=membership,
                consultation_id=consultation.pk,
                draft=form.draft(),
                context=request_context(request),
            )
        else:
            sent = [
                services.send_to_company(
                    actor=membership,
                    consultation_id=consultation.pk,
                    company_id=int(recipient),
                    draft=form.draft(),
                    context=request_context(request),
                )
            ]
    except Consultation.DoesNotExist as exc:
        raise Http404 from exc
    except MutualisError as exc:
        status = _refused(form, exc)
        return _consultation_page(request, consultation, form, status=status)
    messages.success(
        request,
        _("The message is sent; the company is told by e-mail that it is waiting.")
        if len(sent) == 1
        else _("The message is sent to every company that responded, each in its own thread."),
    )
    if len(sent) == 1:
        return tenant_redirect(request, "messaging:thread", pk=sent[0].thread_id)
    return tenant_redirect(request, "messaging:consultation", pk=consultation.pk)


def _thread_page(
    request: HttpRequest,
    thread: Thread,
    form: BuyerMessageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    can_write = "buyer" in membership.role_codes()
    response = render(
        request,
        "messaging/thread.html",
        {
            "thread": thread,
            "consultation": thread.consultation,
            "messages_list": selectors.messages_of_thread_for_buyer(thread),
            "side": "buyer",
            "form": (form or BuyerMessageForm()) if can_write else None,
            "reply_url": reverse(
                "messaging:reply", kwargs={"org": membership.organisation.slug, "pk": thread.pk}
            ),
            "back_url": reverse(
                "messaging:consultation",
                kwargs={"org": membership.organisation.slug, "pk": thread.consultation_id},
            ),
            "attachment_route": "messaging:attachment",
        },
        status=status,
    )
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def thread_page(request: HttpRequest, pk: int) -> HttpResponse:
    thread = services.read_as_buyer(actor=request.membership, thread_id=pk)  # type: ignore[attr-defined]
    if thread is None:
        raise Http404
    return _thread_page(request, thread)


def _buyer_thread(membership: Any, pk: int) -> Thread:
    thread = selectors.thread_for_buyer(organisation_id=membership.organisation_id, thread_id=pk)
    if thread is None:
        raise Http404
    return thread


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def reply(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    thread = _buyer_thread(membership, pk)
    form = BuyerMessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _thread_page(request, thread, form, status=400)
    try:
        services.send_to_company(
            actor=membership,
            consultation_id=thread.consultation_id,
            company_id=thread.company_id,
            draft=form.draft(),
            context=request_context(request),
        )
    except Consultation.DoesNotExist as exc:
        raise Http404 from exc
    except MutualisError as exc:
        status = _refused(form, exc)
        return _thread_page(request, thread, form, status=status)
    messages.success(request, _("The message is sent; the company is told by e-mail."))
    return tenant_redirect(request, "messaging:thread", pk=thread.pk)


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def attachment(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    found = selectors.attachment_for_buyer(
        organisation_id=request.membership.organisation_id,  # type: ignore[attr-defined]
        thread_id=pk,
        attachment_id=attachment_id,
    )
    if found is None:
        raise Http404
    return serve_file(request, found.file, public=False)  # type: ignore[return-value]
