"""Back-office pages of the clause and template library that buyers share: operator staff
write its entries, and accept or reject the clauses members propose.

Operator staff only (``staff_view``). The entries belong to no member and are read
through procurement's library module; the proposals are the members' rows, read through
procurement's named crossings; every write goes through procurement's library services.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.procurement import crossings, library
from mutualis.procurement import workspace_forms as forms
from mutualis.procurement.models import ProposalState

from .views import actor_of, posted, staff_view


@staff_view
def library_list(request: HttpRequest) -> HttpResponse:
    form = forms.LibrarySearchForm(request.GET)
    text, kind = "", ""
    if form.is_valid():
        text, kind = form.cleaned_data["q"], form.cleaned_data["kind"]
    return render(
        request,
        "backoffice/library_list.html",
        {
            "form": form,
            "entries": list(library.entries(text=text, kind=kind, include_withdrawn=True)[:200]),
            "pending": len(crossings.library_proposals_for_operator(state=ProposalState.PROPOSED)),
        },
    )


@staff_view
def library_entry_new(request: HttpRequest) -> HttpResponse:
    form = forms.OperatorEntryForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            library.create_entry(
                actor=actor_of(request),
                data=form.to_input(),
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The entry has been added to the library."))
            return redirect("backoffice:library_list")
    return render(request, "backoffice/library_entry_form.html", {"form": form, "entry": None})


@staff_view
def library_entry_edit(request: HttpRequest, pk: int) -> HttpResponse:
    entry = library.entry(pk, include_withdrawn=True)
    if entry is None:
        raise Http404
    form = forms.OperatorEntryForm(
        posted(request), initial=forms.OperatorEntryForm.initial_of(entry)
    )
    if request.method == "POST" and form.is_valid():
        try:
            library.update_entry(
                actor=actor_of(request),
                entry_id=entry.pk,
                data=form.to_input(),
                is_active=form.cleaned_data["is_active"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The entry has been saved."))
            return redirect("backoffice:library_list")
    return render(request, "backoffice/library_entry_form.html", {"form": form, "entry": entry})


@staff_view
def library_proposals(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", ProposalState.PROPOSED)
    if state not in ProposalState.values:
        state = ""
    return render(
        request,
        "backoffice/library_proposals.html",
        {
            "proposals": crossings.library_proposals_for_operator(state=state),
            "state": state,
            "states": ProposalState.choices,
            "reject_form": forms.RejectForm(),
        },
    )


@staff_view
@require_POST
def library_proposal_accept(request: HttpRequest, pk: int) -> HttpResponse:
    if crossings.library_proposal_for_operator(pk) is None:
        raise Http404
    try:
        library.accept_proposal(
            actor=actor_of(request), proposal_id=pk, request_context=audit.request_context(request)
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The proposal is accepted: it is now in the library."))
    return redirect("backoffice:library_proposals")


@staff_view
@require_POST
def library_proposal_reject(request: HttpRequest, pk: int) -> HttpResponse:
    if crossings.library_proposal_for_operator(pk) is None:
        raise Http404
    form = forms.RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the proposal is rejected: the member reads the reason."))
        return redirect("backoffice:library_proposals")
    try:
        library.reject_proposal(
            actor=actor_of(request),
            proposal_id=pk,
            reason=form.cleaned_data["reason"],
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The proposal is rejected; the member reads the reason."))
    return redirect("backoffice:library_proposals")
