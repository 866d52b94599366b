"""The buyers' shared workspace, under ``/o/<slug>/procurement/``: the group of a group
purchase the member coordinates, the group purchases it takes part in (read-only), the
clause library and its proposals, a copy of a past consultation, the ESPD selection
criteria. Same guards as the other buyer pages (``views.buyer_view``)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.tenancy import tenant_redirect

from . import copies, crossings, espd_selection, groups, library, selectors
from . import workspace_forms as forms
from .models import State
from .views import actor_of, buyer_view, consultation_or_404, posted

LIBRARY_PAGE = 20


# --- Group purchasing ------------------------------------------------------------------------


@buyer_view
def group(request: HttpRequest, pk: int) -> HttpResponse:
    """The coordinator's view of the group of one of its consultations; it adds
    participants while the consultation is a draft."""
    consultation = consultation_or_404(request, pk)
    is_draft = consultation.state == State.DRAFT
    form = forms.ParticipantForm(posted(request))
    if request.method == "POST" and is_draft and form.is_valid():
        data = form.cleaned_data
        try:
            groups.add_participant(
                actor=actor_of(request),
                consultation_id=pk,
                participant=data["organisation"],
                share_percent=data["share_percent"],
                share_amount=data["share_amount"],
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The participant has been added to the group."))
            return tenant_redirect(request, "procurement:group", pk=pk)
    members = crossings.group_of(consultation_id=pk, coordinator_id=consultation.organisation_id)
    return render(
        request,
        "procurement/group.html",
        {"consultation": consultation, "members": members, "form": form, "is_draft": is_draft},
        status=400 if form.errors else 200,
    )


@buyer_view
@require_POST
def group_remove(request: HttpRequest, pk: int, participation_pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    members = crossings.group_of(consultation_id=pk, coordinator_id=consultation.organisation_id)
    if not any(m.pk == participation_pk for m in members):
        raise Http404
    try:
        groups.remove_participant(
            actor=actor_of(request),
            consultation_id=pk,
            participation_id=participation_pk,
            request_context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The participant has been removed from the group."))
    return tenant_redirect(request, "procurement:group", pk=pk)


@buyer_view
@require_safe
def group_purchases(request: HttpRequest) -> HttpResponse:
    """The published group purchases the member takes part in, which another member
    coordinates: read-only."""
    rows = groups.group_purchases_of(organisation_id=actor_of(request).organisation_id)
    return render(
        request, "procurement/group_purchases.html", {"rows": rows, "now": timezone.now()}
    )


# --- The clause library ----------------------------------------------------------------------


@buyer_view
@require_safe
def library_list(request: HttpRequest) -> HttpResponse:
    form = forms.LibrarySearchForm(request.GET)
    text, kind = "", ""
    if form.is_valid():
        text, kind = form.cleaned_data["q"], form.cleaned_data["kind"]
    # A draft to copy clauses into, when the buyer came from one.
    target = None
    raw = request.GET.get("consultation", "")
    if raw.isdigit():
        target = selectors.consultation(
            organisation_id=actor_of(request).organisation_id, consultation_id=int(raw)
        )
        if target is not None and target.state != State.DRAFT:
            target = None
    page = Paginator(library.entries(text=text, kind=kind), LIBRARY_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "procurement/library_list.html",
        {"form": form, "page": page, "target": target, "query": query.urlencode()},
    )


@buyer_view
def library_propose(request: HttpRequest) -> HttpResponse:
    form = forms.ProposalForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            library.propose_entry(
                actor=actor_of(request),
                data=form.to_input(),
                note=form.cleaned_data["note"],
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("Thank you: the operator will review your proposal."))
            return tenant_redirect(request, "procurement:library_propose")
    proposals = library.proposals_of(organisation_id=actor_of(request).organisation_id)
    return render(
        request,
        "procurement/library_propose.html",
        {"form": form, "proposals": proposals},
        status=400 if form.errors else 200,
    )


@buyer_view
@require_POST
def clause_insert(request: HttpRequest, pk: int) -> HttpResponse:
    consultation_or_404(request, pk)
    entry_id = request.POST.get("entry", "")
    if not entry_id.isdigit() or library.entry(int(entry_id)) is None:
        raise Http404
    try:
        library.insert_clause(
            actor=actor_of(request),
            consultation_id=pk,
            entry_id=int(entry_id),
            request_context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The clause has been added to the description."))
    return tenant_redirect(request, "procurement:detail", pk=pk)


# --- Start from a past consultation ----------------------------------------------------------


@buyer_view
def consultation_copy(request: HttpRequest, pk: int) -> HttpResponse:
    source = consultation_or_404(request, pk)
    form = forms.CopyForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            copy = copies.copy_consultation(
                actor=actor_of(request),
                consultation_id=pk,
                reference=data["reference"],
                questions_deadline=data["questions_deadline"],
                response_deadline=data["response_deadline"],
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request, _("The new draft has been created from the past consultation.")
            )
            return tenant_redirect(request, "procurement:detail", pk=copy.pk)
    return render(
        request,
        "procurement/consultation_copy.html",
        {"source": source, "form": form},
        status=400 if form.errors else 200,
    )


# --- ESPD selection criteria -------------------------------------------------------------------


@buyer_view
def selection(request: HttpRequest, pk: int) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    is_draft = consultation.state == State.DRAFT
    form = forms.SelectionForm(posted(request))
    if request.method == "POST" and is_draft and form.is_valid():
        try:
            espd_selection.set_criterion(
                actor=actor_of(request),
                consultation_id=pk,
                data=form.to_input(),
                request_context=request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The selection criterion has been saved."))
            return tenant_redirect(request, "procurement:selection", pk=pk)
    return render(
        request,
        "procurement/selection.html",
        {
            "consultation": consultation,
            "rows": espd_selection.rows_of(consultation),
            "headings": dict(espd_selection.HEADINGS),
            "form": form,
            "is_draft": is_draft,
        },
        status=400 if form.errors else 200,
    )


@buyer_view
@require_POST
def selection_remove(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    consultation = consultation_or_404(request, pk)
    if not any(row.get("code") == code for row in consultation.espd_selection):
        raise Http404
    try:
        espd_selection.remove_criterion(
            actor=actor_of(request),
            consultation_id=pk,
            code=code,
            request_context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The selection criterion has been removed."))
    return tenant_redirect(request, "procurement:selection", pk=pk)
