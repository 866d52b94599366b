"""Views of the operator back office: parse input, call one service, render.

Every view is for operator staff only (``staff_view``) and runs, like every page outside
a tenant's path, in a scope with no dimension: a query on a tenant's table fails there.
The pages read through named crossings of the contexts that own the data, each saying
what it reads (``core.crossings``, ``identity.crossings``, ``companies.crossings``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mutualis.core import audit
from mutualis.core import crossings as core_crossings
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.links import absolute_url
from mutualis.core.mail import redacted
from mutualis.core.services import emails as email_services
from mutualis.core.services import organisations as organisation_services
from mutualis.core.services import subscriptions as subscription_services
from mutualis.identity import crossings as identity_crossings
from mutualis.identity import invitations
from mutualis.identity import services as identity_services

from . import forms, selectors
from .guards import operator_required

if TYPE_CHECKING:
    from mutualis.core.models import AuditEvent

PAGE_SIZE = 50


def staff_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Operator staff only (others get 404, anonymous people the login page). It opens no
    crossing: the view reads through named ones."""
    return operator_required(view)


def actor_of(request: HttpRequest) -> Any:
    """The operator staff membership acting (set by ``staff_view``)."""
    return request.membership  # type: ignore[attr-defined]


def posted(request: HttpRequest) -> Any:
    """The posted data to bind a form to, or None on a GET."""
    # Not ``request.POST or None``: a form whose check boxes are all cleared posts nothing
    # and must still be bound.
    return request.POST if request.method == "POST" else None


def _posted_files(request: HttpRequest) -> Any:
    return request.FILES if request.method == "POST" else None


def _page_number(request: HttpRequest) -> Any:
    return request.GET.get("page")


def _organisation_or_404(pk: int) -> Any:
    organisation = core_crossings.organisation_for_operator(pk)
    if organisation is None:
        raise Http404
    return organisation


# --- Dashboard -------------------------------------------------------------------------


@staff_view
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/dashboard.html", {"counts": selectors.dashboard_counts()})


# --- Organisations ---------------------------------------------------------------------


@staff_view
def organisation_list(request: HttpRequest) -> HttpResponse:
    form = forms.OrganisationFilterForm(request.GET)
    page = core_crossings.organisations_page(
        number=_page_number(request), per_page=PAGE_SIZE, **form.filters()
    )
    return render(request, "backoffice/organisation_list.html", {"form": form, "page": page})


@staff_view
def organisation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = _organisation_or_404(pk)
    departements_spanned, member_communes = core_crossings.grouping_for_operator(organisation)
    return render(
        request,
        "backoffice/organisation_detail.html",
        {
            "organisation": organisation,
            "members": identity_crossings.memberships_of_organisation(organisation.pk),
            "service_states": core_crossings.subscriptions_for_operator(organisation.pk),
            "departements_spanned": departements_spanned,
            "member_communes": member_communes,
            "audit_chain": audit.organisation_chain(organisation.pk),
        },
    )


@staff_view
def organisation_create(request: HttpRequest) -> HttpResponse:
    form = forms.OrganisationCreateForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            organisation = organisation_services.create_organisation(
                actor=actor_of(request),
                name=data["name"],
                kind=data["kind"],
                siren=data["siren"],
                departement=data["departement"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("%(name)s has been created.") % {"name": organisation.name})
            return redirect("backoffice:organisation_detail", pk=organisation.pk)
    return render(request, "backoffice/organisation_create.html", {"form": form})


@staff_view
def organisation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    organisation = _organisation_or_404(pk)
    form = forms.OrganisationEditForm.for_organisation(
        organisation, posted(request), _posted_files(request)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            organisation_services.update_organisation(
                actor=actor_of(request),
                organisation_id=organisation.pk,
                name=data["name"],
                siren=data["siren"],
                adhesion_status=data["adhesion_status"],
                adhesion_since=data["adhesion_since"],
                fee_category=data["fee_category"],
                primary_colour=data["primary_colour"],
                secondary_colour=data["secondary_colour"],
                logo=data["logo"] or None,
                remove_logo=data["remove_logo"],
                contact={field: data[field] for field in organisation_services.CONTACT_FIELDS},
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The organisation has been updated."))
            return redirect("backoffice:organisation_detail", pk=organisation.pk)
    return render(
        request,
        "backoffice/organisation_edit.html",
        {"organisation": organisation, "form": form},
    )


@staff_view
@require_POST
def subscription_change(request: HttpRequest, pk: int, code: str, action: str) -> HttpResponse:
    organisation = _organisation_or_404(pk)
    states = core_crossings.subscriptions_for_operator(organisation.pk)
    service = next((state.service for state in states if state.service.code == code), None)
    if service is None:
        raise Http404
    use_case, done = {
        "subscribe": (subscription_services.subscribe, _("%(org)s now subscribes to %(service)s.")),
        "suspend": (
            subscription_services.suspend_subscription,
            _("The subscription of %(org)s to %(service)s is suspended."),
        ),
        "resume": (
            subscription_services.resume_subscription,
            _("The subscription of %(org)s to %(service)s is resumed."),
        ),
    }[action]
    try:
        use_case(
            actor=actor_of(request),
            organisation_id=organisation.pk,
            service_code=service.code,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done % {"org": organisation.name, "service": service.name})
    return redirect(
        reverse("backoffice:organisation_detail", kwargs={"pk": organisation.pk}) + "#services"
    )


def _person_to_organisation(
    request: HttpRequest,
    pk: int,
    *,
    template: str,
    submit: Callable[[Any, dict[str, Any]], str],
) -> HttpResponse:
    """The e-mail + roles form shared by attaching an account and inviting a person:
    ``submit`` calls the service and returns the success message."""
    organisation = _organisation_or_404(pk)
    form = forms.MembershipAddForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            message = submit(organisation, form.cleaned_data)
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, message)
            return redirect(
                reverse("backoffice:organisation_detail", kwargs={"pk": organisation.pk})
                + "#members"
            )
    return render(request, template, {"organisation": organisation, "form": form})


@staff_view
def membership_add(request: HttpRequest, pk: int) -> HttpResponse:
    def submit(organisation: Any, data: dict[str, Any]) -> str:
        membership = identity_services.add_membership(
            actor=actor_of(request),
            organisation_id=organisation.pk,
            email=data["email"],
            roles=data["roles"],
            request_context=audit.request_context(request),
        )
        return _("%(person)s is now a member of %(org)s.") % {
            "person": membership.user,
            "org": organisation.name,
        }

    return _person_to_organisation(
        request, pk, template="backoffice/membership_add.html", submit=submit
    )


@staff_view
def membership_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite a person by e-mail, as the member's administrators can: the person signs up
    (or logs in) through the link and accepts."""

    def submit(organisation: Any, data: dict[str, Any]) -> str:
        invitation = invitations.send_invitation(
            actor=actor_of(request),
            organisation_id=organisation.pk,
            email=data["email"],
            roles=data["roles"],
            site_url=absolute_url("/"),
            request_context=audit.request_context(request),
        )
        return _("An invitation to %(org)s has been sent to %(email)s.") % {
            "org": organisation.name,
            "email": invitation.email,
        }

    return _person_to_organisation(
        request, pk, template="backoffice/membership_invite.html", submit=submit
    )


# --- Users and memberships -------------------------------------------------------------


@staff_view
def user_list(request: HttpRequest) -> HttpResponse:
    form = forms.UserSearchForm(request.GET)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    page = identity_crossings.accounts_page(
        number=_page_number(request), per_page=PAGE_SIZE, text=text
    )
    return render(request, "backoffice/user_list.html", {"form": form, "page": page})


@staff_view
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = identity_crossings.account_for_operator(pk)
    if person is None:
        raise Http404
    return render(request, "backoffice/user_detail.html", {"person": person})


@staff_view
def membership_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = identity_crossings.membership_for_operator(pk)
    if membership is None:
        raise Http404
    initial = {"roles": sorted(membership.role_codes())}
    form = forms.RolesForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            identity_services.change_roles(
                actor=actor_of(request),
                membership_id=membership.pk,
                roles=form.cleaned_data["roles"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The roles have been saved."))
            return redirect("backoffice:membership_detail", pk=membership.pk)
    return render(
        request,
        "backoffice/membership_detail.html",
        {
            "membership": membership,
            "form": form,
            "is_own": membership.pk == actor_of(request).pk,
        },
    )


def _membership_switch(
    request: HttpRequest, pk: int, use_case: Callable[..., Any], done: str
) -> HttpResponse:
    membership = identity_crossings.membership_for_operator(pk)
    if membership is None:
        raise Http404
    try:
        use_case(
            actor=actor_of(request),
            membership_id=membership.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("backoffice:membership_detail", pk=membership.pk)


@staff_view
@require_POST
def membership_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _membership_switch(
        request,
        pk,
        identity_services.deactivate_membership,
        _("The membership has been deactivated."),
    )


@staff_view
@require_POST
def membership_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _membership_switch(
        request,
        pk,
        identity_services.reactivate_membership,
        _("The membership has been reactivated."),
    )


# --- Audit trail -----------------------------------------------------------------------

# Objects of the trail that have a page in the back office.
_OBJECT_PAGES = {
    "core.organisation": "backoffice:organisation_detail",
    "identity.membership": "backoffice:membership_detail",
    "identity.user": "backoffice:user_detail",
    "core.outgoingemail": "backoffice:email_detail",
}


def _object_url(event: AuditEvent) -> str:
    name = _OBJECT_PAGES.get(event.object_type)
    if name is None or not event.object_id.isdigit():
        return ""
    return reverse(name, kwargs={"pk": int(event.object_id)})


@staff_view
def audit_list(request: HttpRequest) -> HttpResponse:
    form = forms.AuditFilterForm(request.GET)
    filters = form.filters()
    page: Page[Any]
    if filters is None:
        page = Paginator([], PAGE_SIZE).get_page(1)
    else:
        page = core_crossings.audit_events_page(
            number=_page_number(request), per_page=PAGE_SIZE, **filters
        )
    rows = list(page.object_list)
    names = core_crossings.audit_actor_names(rows)
    return render(
        request,
        "backoffice/audit_list.html",
        {
            "form": form,
            "page": page,
            "rows": [
                {
                    "event": event,
                    "actor_name": names.get(event.actor, ""),
                    "object_url": _object_url(event),
                    "payload": json.dumps(
                        event.payload, indent=2, sort_keys=True, ensure_ascii=False, default=str
                    ),
                }
                for event in rows
            ],
        },
    )


@staff_view
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    # Without a usable key no checkpoint can be checked: say so rather than fail.
    try:
        audit.load_signing_key()
    except (OSError, TypeError, ValueError) as exc:
        return render(request, "backoffice/audit_verify.html", {"report": None, "error": str(exc)})
    # A read, however long: synchronous by design, run on demand by the staff.
    report = audit.verify_all_chains()
    return render(request, "backoffice/audit_verify.html", {"report": report, "error": ""})


# --- Outgoing e-mail -------------------------------------------------------------------


@staff_view
def email_list(request: HttpRequest) -> HttpResponse:
    form = forms.EmailFilterForm(request.GET)
    page = core_crossings.outgoing_emails_page(
        number=_page_number(request), per_page=PAGE_SIZE, **form.filters()
    )
    return render(request, "backoffice/email_list.html", {"form": form, "page": page})


@staff_view
def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = core_crossings.outgoing_email(pk)
    if email is None:
        raise Http404
    # The stored copy holds markers where single-use links were; they are named, never
    # shown (the links themselves are sealed, then wiped: see core.mail).
    return render(
        request,
        "backoffice/email_detail.html",
        {
            "email": email,
            "subject": redacted(email.subject),
            "body_text": redacted(email.body_text),
            "body_html": redacted(email.body_html),
        },
    )


@staff_view
@require_POST
def email_retry(request: HttpRequest, pk: int) -> HttpResponse:
    email = core_crossings.outgoing_email(pk)
    if email is None:
        raise Http404
    try:
        email_services.retry_email(
            actor=actor_of(request),
            email_id=email.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The e-mail is queued again."))
    return redirect("backoffice:email_detail", pk=email.pk)
