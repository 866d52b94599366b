"""The public page's sections for downloaders: identifying (through an account or with
a SIRET), confirming the address, asking a question, reading the published answers.
Thin: the rules are in ``downloaders.py`` and ``questions.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mutualis.companies import crossings as company_crossings
from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.network import client_address

from . import crossings, downloaders, errors, forms, questions
from .models import State


def _companies_of(request: HttpRequest) -> list[tuple[str, str]]:
    if not request.user.is_authenticated:
        return []
    return [
        (r.company.siren, r.company.name)
        for r in company_crossings.representations_of_user(request.user)
    ]


def page_context(request: HttpRequest, consultation: Any, **bound: Any) -> dict[str, Any]:
    """What the public page shows of identification, questions and answers."""
    now = timezone.now()
    downloader = downloaders.identified_downloader(request, consultation.pk)
    found = downloaders.identification(request, consultation.pk)
    companies = _companies_of(request)
    is_open = consultation.is_open(now)
    return {
        "answers": crossings.public_answers(consultation.pk),
        "downloader": downloader,
        "session_confirmed": bool(found and found.confirmed),
        "can_identify": is_open,
        "questions_open": consultation.state == State.PUBLISHED
        and now < consultation.questions_deadline,
        "identify_form": bound.get("identify_form") or forms.IdentifyForm(),
        "account_form": bound.get("account_form")
        or (forms.AccountIdentifyForm(companies=companies) if companies else None),
        "question_form": bound.get("question_form") or forms.QuestionForm(),
        "question_error": bound.get("question_error"),
    }


def _public_or_404(pk: int) -> Any:
    consultation = crossings.public_consultation(pk)
    if consultation is None:
        raise Http404
    return consultation


def _detail_url(pk: int, anchor: str) -> str:
    return reverse("consultations:detail", kwargs={"pk": pk}) + f"#{anchor}"


@require_POST
def identify(request: HttpRequest, pk: int) -> HttpResponse:
    from .public_views import render_detail

    consultation = _public_or_404(pk)
    context = audit.request_context(request)
    if request.POST.get("mode") == "account":
        if not request.user.is_authenticated:
            raise Http404
        account_form = forms.AccountIdentifyForm(request.POST, companies=_companies_of(request))
        if account_form.is_valid():
            try:
                downloader = downloaders.identify_with_account(
                    consultation_id=pk,
                    user=request.user,
                    company_siren=account_form.cleaned_data["company"],
                    request_context=context,
                )
            except MutualisError as exc:
                show_error(account_form, exc)
            else:
                downloaders.remember(request, downloader, confirmed=downloader.is_confirmed)
                messages.success(request, _("You are identified on this consultation."))
                return redirect(_detail_url(pk, "identification"))
        return render_detail(request, consultation, status=400, account_form=account_form)
    form = forms.IdentifyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            downloader = downloaders.identify_with_siret(
                consultation_id=pk,
                name=data["name"],
                email=data["email"],
                siret=data["siret"],
                source=client_address(request),
                request_context=context,
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            downloaders.remember(request, downloader, confirmed=False)
            messages.success(
                request,
                _(
                    "You are identified on this consultation. We sent you an e-mail: follow "
                    "its link to confirm your address. Nothing else is sent to it until then."
                ),
            )
            return redirect(_detail_url(pk, "identification"))
    return render_detail(request, consultation, status=400, identify_form=form)


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """The link of the confirmation e-mail. GET only shows a button: a mail scanner that
    follows links must not confirm an address in its owner's stead."""
    token = (request.POST.get("token") or request.GET.get("token") or "")[:1000]
    try:
        downloaders.read_confirmation(token)
    except errors.ConfirmationLinkInvalid as exc:
        return render(
            request, "procurement/downloader_confirm.html", {"error": exc.message}, status=400
        )
    if request.method != "POST":
        return render(request, "procurement/downloader_confirm.html", {"token": token})
    try:
        downloader = downloaders.confirm_email(
            token=token, request_context=audit.request_context(request)
        )
    except errors.ConfirmationLinkInvalid as exc:
        return render(
            request, "procurement/downloader_confirm.html", {"error": exc.message}, status=400
        )
    downloaders.remember(request, downloader, confirmed=True)
    messages.success(
        request,
        _(
            "Your address is confirmed: you will receive the answers and rectifications "
            "of this consultation, and you may ask questions."
        ),
    )
    return redirect(_detail_url(downloader.consultation_id, "identification"))


@require_POST
def ask(request: HttpRequest, pk: int) -> HttpResponse:
    from .public_views import render_detail

    consultation = _public_or_404(pk)
    form = forms.QuestionForm(request.POST)
    if form.is_valid():
        try:
            questions.ask_question(
                found=downloaders.identification(request, pk),
                text=form.cleaned_data["text"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request,
                _("Your question was sent to the buyer. Its answer will be published here."),
            )
            return redirect(_detail_url(pk, "questions"))
    return render_detail(request, consultation, status=400, question_form=form)


@require_POST
def leave(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget the identification in this browser (the register keeps its line)."""
    downloaders.forget(request, pk)
    return redirect(_detail_url(pk, "identification"))
