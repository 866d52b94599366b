"""The legality pages: the enrolment (administrators), the acts (legality agents). A
person without the role, or of another organisation, gets 404 (``role_required`` and the
tenancy middleware)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect

from . import (
    classification,
    exchange_views,
    forms,
    publication,
    selectors,
    services,
    transitions,
)
from .models import AGENT_ROLE, LEGALITY_ROLES, SERVICE, Act, ActStatus


def _membership(request: HttpRequest) -> Any:
    return request.membership  # type: ignore[attr-defined]


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _act(request: HttpRequest, pk: int) -> Act:
    act = selectors.act_of(_membership(request).organisation_id, pk)
    if act is None:
        raise Http404
    return act


@role_required("org_admin")
@subscription_required(SERVICE)
def enrolment(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    current = selectors.enrolment_of(membership.organisation_id)
    initial: dict[str, Any] = {}
    if current is not None:
        initial = {
            "convention_reference": current.convention_reference,
            "convention_date": current.convention_date,
            "departement": current.departement,
            "arrondissement": current.arrondissement,
            "authority_nature": current.authority_nature,
            "natures": current.natures,
        }
    else:
        initial = {
            "departement": services.departement_of(membership.organisation),
            "arrondissement": services.arrondissement_of(membership.organisation),
        }
    form = forms.EnrolmentForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_enrolment(
                actor=membership,
                convention_reference=data["convention_reference"],
                convention_date=data["convention_date"],
                departement=data["departement"],
                arrondissement=data["arrondissement"],
                authority_nature=data["authority_nature"],
                natures=data["natures"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The enrolment has been saved."))
            return tenant_redirect(request, "legality:enrolment")
    return render(request, "legality/enrolment.html", {"form": form, "enrolment": current})


@role_required(*LEGALITY_ROLES, "org_admin")
@subscription_required(SERVICE)
def acts(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    filters = forms.ActFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    is_agent = selectors.is_legality_agent(membership)
    listed = (
        selectors.acts_of(
            membership.organisation_id,
            status=values.get("status", ""),
            nature=values.get("nature", ""),
            text=values.get("q", ""),
        )[:200]
        if is_agent
        else []
    )
    return render(
        request,
        "legality/acts.html",
        {
            "filters": filters,
            "acts": listed,
            "is_agent": is_agent,
            "can_prepare": membership.has_role(AGENT_ROLE),
            "enrolment": selectors.enrolment_of(membership.organisation_id),
        },
    )


def _member_classification(form: forms.ActForm, organisation_id: int) -> forms.ActForm:
    """The subject codes and piece types of the member's current classification."""
    current = classification.current(organisation_id)
    form.fields["classification"].choices = current.leaf_choices()  # type: ignore[attr-defined]
    piece_types = [("", "—")] + [(c, f"{c} {label}") for c, label in current.piece_types.items()]
    for index in range(1, forms.ANNEX_SLOTS + 1):
        form.fields[f"annex_{index}_type"].choices = piece_types  # type: ignore[attr-defined]
    return form


def _uploads(form: forms.ActForm, files: Any) -> dict[str, Any]:
    data = form.cleaned_data
    document = data.get("document")
    signature = data.get("document_signature")
    annexes = []
    for index in range(1, forms.ANNEX_SLOTS + 1):
        upload = data.get(f"annex_{index}")
        if not upload:
            continue
        annex_signature = data.get(f"annex_{index}_signature")
        annexes.append(
            services.AnnexUpload(
                file=upload,
                name=upload.name,
                piece_type=data.get(f"annex_{index}_type") or "",
                signature=services.Upload(annex_signature, annex_signature.name)
                if annex_signature
                else None,
            )
        )
    return {
        "nature": data["nature"],
        "number": data["number"].strip(),
        "decided_on": data["decided_on"],
        "classification_code": data["classification"],
        "subject": data["subject"],
        "paper_follows": data["paper_follows"],
        "document": services.Upload(document, document.name) if document else None,
        "document_signature": services.Upload(signature, signature.name) if signature else None,
        "annexes": annexes,
    }


@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def act_new(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    form = _member_classification(
        forms.ActForm(_posted(request), request.FILES if request.method == "POST" else None),
        membership.organisation_id,
    )
    if request.method == "POST" and form.is_valid():
        try:
            act = services.prepare_act(
                actor=membership,
                request_context=audit.request_context(request),
                **_uploads(form, request.FILES),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request, _("The act %(number)s has been prepared.") % {"number": act.number}
            )
            return tenant_redirect(request, "legality:act_detail", pk=act.pk)
    return render(
        request,
        "legality/act_form.html",
        {
            "form": form,
            "act": None,
            "enrolment": selectors.enrolment_of(membership.organisation_id),
        },
    )


@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def act_edit(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership(request)
    act = _act(request, pk)
    if not transitions.allowed(act, transitions.Event.EDIT):
        raise Http404
    initial = {
        "nature": act.nature,
        "number": act.number,
        "decided_on": act.decided_on,
        "classification": act.classification,
        "subject": act.subject,
        "paper_follows": act.paper_follows,
    }
    form = _member_classification(
        forms.ActForm(
            _posted(request), request.FILES if request.method == "POST" else None, initial=initial
        ),
        membership.organisation_id,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.edit_act(
                actor=membership,
                act_id=act.pk,
                request_context=audit.request_context(request),
                **_uploads(form, request.FILES),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The act has been changed."))
            return tenant_redirect(request, "legality:act_detail", pk=act.pk)
    return render(
        request,
        "legality/act_form.html",
        {"form": form, "act": act, "annexes": selectors.annexes_of(act)},
    )


@role_required(*LEGALITY_ROLES)
@subscription_required(SERVICE)
def act_detail(request: HttpRequest, pk: int) -> HttpResponse:
    act = _act(request, pk)
    return render(
        request,
        "legality/act_detail.html",
        {
            "act": act,
            "annexes": selectors.annexes_of(act),
            "matiere": dict(classification.current(act.organisation_id).leaf_choices()).get(
                act.classification, act.classification
            ),
            "can_prepare": _membership(request).has_role(AGENT_ROLE),
            "can_edit": transitions.allowed(act, transitions.Event.EDIT),
            "can_validate": transitions.allowed(act, transitions.Event.VALIDATE),
            "can_cancel": transitions.allowed(act, transitions.Event.CANCEL),
            "problems": request.session.pop(f"legality-problems-{act.pk}", []),
            "waiting": act.status == ActStatus.WAITING,
            "slug": _membership(request).organisation.slug,
            **_after_acknowledgement(request, act),
            **exchange_views.act_exchanges(request, act),
        },
    )


@require_POST
@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def act_validate(request: HttpRequest, pk: int) -> HttpResponse:
    act = _act(request, pk)
    try:
        services.validate_act(
            actor=_membership(request),
            act_id=act.pk,
            request_context=audit.request_context(request),
        )
    except services.ActRefused as exc:
        request.session[f"legality-problems-{act.pk}"] = [str(p.message) for p in exc.problems]
        messages.error(request, _("The act cannot be sent yet: fix what is listed below."))
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("The act is valid: its transmission package is built and waits to be sent.")
        )
    return tenant_redirect(request, "legality:act_detail", pk=act.pk)


@require_POST
@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def act_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    act = _act(request, pk)
    try:
        services.cancel_act(
            actor=_membership(request),
            act_id=act.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The act has been cancelled."))
    return tenant_redirect(request, "legality:act_detail", pk=act.pk)


# --- After the acknowledgement: stamped PDF, slip, publication date -------------------


def _after_acknowledgement(
    request: HttpRequest, act: Act, form: forms.PublicationForm | None = None
) -> dict[str, Any]:
    if act.status != ActStatus.ACKNOWLEDGED:
        return {"acknowledged": False}
    stamps = selectors.stamps_of(act)
    return {
        "acknowledged": True,
        "stamp": stamps[0] if stamps else None,
        "earlier_stamps": stamps[1:],
        "verification_url": publication.verification_url(act.verification_token)
        if act.verification_token
        else "",
        "publication_form": form
        or forms.PublicationForm(initial={"published_on": act.published_on}),
    }


@require_POST
@role_required(AGENT_ROLE)
@subscription_required(SERVICE)
def act_publication(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent records the act's publication date; the act is stamped again."""
    act = _act(request, pk)
    form = forms.PublicationForm(request.POST)
    if form.is_valid():
        try:
            publication.record_publication(
                actor=_membership(request),
                act_id=act.pk,
                published_on=form.cleaned_data["published_on"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request,
                _("The publication date has been recorded: the stamped PDF is being updated."),
            )
            return tenant_redirect(request, "legality:act_detail", pk=act.pk)
    return render(
        request,
        "legality/act_detail.html",
        {
            "act": act,
            "annexes": selectors.annexes_of(act),
            "matiere": dict(classification.current(act.organisation_id).leaf_choices()).get(
                act.classification, act.classification
            ),
            "can_prepare": True,
            "slug": _membership(request).organisation.slug,
            **_after_acknowledgement(request, act, form),
        },
        status=400,
    )
