"""The pages of the prefecture's correspondence, the cancellation of a transmission and
the classification, under ``/o/<slug>/legality/``. A person without the role, or of
another organisation, gets 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect

from . import (
    cancellation,
    classification,
    correspondence,
    exchange_forms,
    outbox,
    selectors,
    services,
)
from .models import (
    AGENT_ROLE,
    LEGALITY_ROLES,
    SERVICE,
    Act,
    ClassificationVersion,
    Letter,
    LetterStatus,
    OutboundMessage,
)


def _membership(request: HttpRequest) -> Any:
    return request.membership  # type: ignore[attr-defined]


def _letter(request: HttpRequest, pk: int) -> Letter:
    letter = (
        Letter.objects.filter(organisation_id=_membership(request).organisation_id, pk=pk)
        .select_related("act", "document")
        .first()
    )
    if letter is None:
        raise Http404
    return letter


def act_exchanges(request: HttpRequest, act: Act) -> dict[str, Any]:
    """What the act's page shows of its letters, its control period and its
    cancellation (``views.act_detail``)."""
    letters = correspondence.letters_of(act)
    today = timezone.localdate()
    return {
        "letters": [(letter, correspondence.is_overdue(letter, today)) for letter in letters],
        "deadline": correspondence.deadline(act, letters),
        "cancellation": cancellation.pending(act),
        "can_request_cancellation": cancellation.can_request(act),
        "outbound": list(OutboundMessage.objects.filter(act=act).order_by("pk")),
        "can_resend": _membership(request).has_role(AGENT_ROLE),
    }


def _render_letter(
    request: HttpRequest,
    letter: Letter,
    form: exchange_forms.AnswerForm | None = None,
    due_form: exchange_forms.DueDateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_answer = _membership(request).has_role(AGENT_ROLE) and letter.status == LetterStatus.OPEN
    return render(
        request,
        "legality/letter.html",
        {
            "letter": letter,
            "act": letter.act,
            "overdue": correspondence.is_overdue(letter),
            "can_answer": can_answer and letter.kind in correspondence.ANSWERS,
            "form": form or exchange_forms.AnswerForm(letter=letter),
            "due_form": due_form or exchange_forms.DueDateForm(initial={"due_on": letter.due_on}),
            "answers": list(OutboundMessage.objects.filter(letter=letter).order_by("pk")),
            "can_resend": _membership(request).has_role(AGENT_ROLE),
            "slug": _membership(request).organisation.slug,
        },
        status=status,
    )


@role_required(*LEGALITY_ROLES)
@subscription_required(SERVICE)
def letter(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_letter(request, _letter(request, pk))


@require_POST
@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def letter_answer(request: HttpRequest, pk: int) -> HttpResponse:
    current = _letter(request, pk)
    form = exchange_forms.AnswerForm(request.POST, request.FILES, letter=current)
    if form.is_valid():
        data = form.cleaned_data
        try:
            correspondence.answer_letter(
                actor=_membership(request),
                letter_id=current.pk,
                answer=data["answer"],
                files=[services.Upload(f, f.name or "") for f in data["documents"]],
                text=data["text"],
                request_context=audit.request_context(request),
            )
        except PermissionDenied:
            raise Http404 from None
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("Your answer has been recorded and waits to be sent."))
            return tenant_redirect(request, "legality:letter", pk=current.pk)
    return _render_letter(request, current, form=form, status=400)


@require_POST
@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def letter_due_date(request: HttpRequest, pk: int) -> HttpResponse:
    current = _letter(request, pk)
    form = exchange_forms.DueDateForm(request.POST)
    if form.is_valid():
        try:
            correspondence.set_due_date(
                actor=_membership(request),
                letter_id=current.pk,
                due_on=form.cleaned_data["due_on"],
                request_context=audit.request_context(request),
            )
        except PermissionDenied:
            raise Http404 from None
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The due date has been recorded."))
            return tenant_redirect(request, "legality:letter", pk=current.pk)
    return _render_letter(request, current, due_form=form, status=400)


@require_POST
@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def act_cancel_transmission(request: HttpRequest, pk: int) -> HttpResponse:
    act = selectors.act_of(_membership(request).organisation_id, pk)
    if act is None:
        raise Http404
    try:
        cancellation.request_cancellation(
            actor=_membership(request),
            act_id=act.pk,
            request_context=audit.request_context(request),
        )
    except PermissionDenied:
        raise Http404 from None
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _(
                "The cancellation has been asked for: the act is cancelled once the prefecture "
                "acknowledges it."
            ),
        )
    return tenant_redirect(request, "legality:act_detail", pk=act.pk)


@require_POST
@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def message_resend(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership(request)
    row = OutboundMessage.objects.filter(organisation_id=membership.organisation_id, pk=pk).first()
    if row is None:
        raise Http404
    try:
        outbox.resend(
            actor=membership, message_id=row.pk, request_context=audit.request_context(request)
        )
    except PermissionDenied:
        raise Http404 from None
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The message will be sent again."))
    if row.letter_id is not None:
        return tenant_redirect(request, "legality:letter", pk=row.letter_id)
    if row.act_id is not None:
        return tenant_redirect(request, "legality:act_detail", pk=row.act_id)
    return tenant_redirect(request, "legality:classification")


@role_required(*LEGALITY_ROLES, "org_admin")
@subscription_required(SERVICE)
def classification_page(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if request.method == "POST":
        if not membership.has_role(AGENT_ROLE):
            raise Http404
        try:
            classification.request_classification(
                actor=membership, request_context=audit.request_context(request)
            )
        except PermissionDenied:
            raise Http404 from None
        except MutualisError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(
                request, _("The classification has been requested from the prefecture.")
            )
        return tenant_redirect(request, "legality:classification")
    organisation_id = membership.organisation_id
    current = classification.current(organisation_id)
    return render(
        request,
        "legality/classification.html",
        {
            "current": current,
            "state": classification.state_of(organisation_id),
            "outdated": classification.outdated(organisation_id),
            "versions": list(ClassificationVersion.objects.filter(organisation_id=organisation_id)),
            "requests": list(
                OutboundMessage.objects.filter(
                    organisation_id=organisation_id, kind="DemandeClassification"
                ).order_by("-pk")[:10]
            ),
            "matieres": sorted(
                current.matieres.items(), key=lambda item: [int(p) for p in item[0].split(".")]
            ),
            "piece_types": sorted(current.piece_types.items()),
            "can_request": membership.has_role(AGENT_ROLE),
        },
    )
