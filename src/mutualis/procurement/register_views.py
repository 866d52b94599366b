"""The download register and the questions, on the buyer's consultation page (and its
CSV export, and the publication of answers), and a company's own register lines.
Thin: the rules are in ``downloaders.py`` and ``questions.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.tenancy import tenant_redirect

from . import downloaders, forms, questions
from .models import Consultation, Question, State
from .views import actor_of, buyer_view, consultation_or_404, detail_page


def buyer_context(request: HttpRequest, consultation: Consultation, **bound: Any) -> dict[str, Any]:
    """What the buyer's consultation page shows of the register and the questions."""
    if not consultation.is_public:
        return {"show_register": False}
    organisation_id = actor_of(request).organisation_id
    refused = bound.get("answer_error")
    return {
        "show_register": True,
        "register": list(
            downloaders.register_of(
                organisation_id=organisation_id, consultation_id=consultation.pk
            )
        ),
        "questions": questions.questions_of(
            organisation_id=organisation_id, consultation_id=consultation.pk
        ),
        "answers": questions.answers_of(
            organisation_id=organisation_id, consultation_id=consultation.pk
        ),
        "can_answer": consultation.state == State.PUBLISHED,
        # What the buyer typed, shown again when the answer was refused.
        "answer_data": refused.data if refused is not None else {},
        "information_form": forms.InformationForm(
            refused.data if refused is not None and not refused.data.get("question") else None
        ),
    }


@buyer_view
@require_safe
def register_csv(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    lines = downloaders.register_of(
        organisation_id=actor_of(request).organisation_id, consultation_id=consultation.pk
    )
    response = HttpResponse(downloaders.register_csv(lines), content_type="text/csv; charset=utf-8")
    name = slugify(consultation.reference) or str(consultation.pk)
    response["Content-Disposition"] = f'attachment; filename="register-{name}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@buyer_view
@require_POST
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish the answer to a question (``question`` posted) or information."""
    consultation = consultation_or_404(request, pk)
    form = forms.AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The answer was not published: write it, within the limits."))
        return detail_page(request, consultation, answer_error=form)
    data = form.cleaned_data
    try:
        questions.publish_answer(
            actor=actor_of(request),
            consultation_id=consultation.pk,
            question_id=data["question"],
            question_text=data["question_text"],
            body=data["body"],
            request_context=audit.request_context(request),
        )
    except Question.DoesNotExist:
        raise Http404 from None
    except MutualisError as exc:
        messages.error(request, str(exc.message))
        return detail_page(request, consultation, answer_error=form)
    messages.success(
        request,
        _("Published on the public page; the identified downloaders are told by e-mail."),
    )
    return tenant_redirect(request, "procurement:detail", pk=pk)


@require_safe
def company_register(request: HttpRequest) -> HttpResponse:
    """A company's own lines of the download registers (under ``/c/<siren>/``)."""
    representation = request.representation  # type: ignore[attr-defined]
    lines = list(downloaders.register_of_company(company_id=representation.company_id))
    return render(
        request,
        "procurement/company_register.html",
        {"lines": lines, "company": representation.company},
    )
