"""An organisation's administrators manage its members: list, invite, change roles,
remove, withdraw an invitation.

Every page acts on the organisation the person currently acts for, inside its scope;
another organisation's membership or invitation is a 404, like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from mutualis.core import audit
from mutualis.core import invitations as links
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.links import absolute_url
from mutualis.core.permissions import role_required
from mutualis.core.tenancy import tenant_redirect

from . import invitations, member_forms, member_selectors, services
from .models import Role

# Administrators of the organisation in the path only: anonymous people go to the login
# page, anyone else gets 404 (the platform's one guard convention).
org_admin_view = role_required(Role.ORG_ADMIN)


def _actor(request: HttpRequest) -> Any:
    return request.membership  # type: ignore[attr-defined]


def _posted(request: HttpRequest) -> Any:
    # Not ``request.POST or None``: a form whose check boxes are all cleared posts
    # nothing and must still be bound.
    return request.POST if request.method == "POST" else None


@org_admin_view
def member_list(request: HttpRequest) -> HttpResponse:
    organisation_id = _actor(request).organisation_id
    return render(
        request,
        "identity/members_list.html",
        {
            "members": member_selectors.list_members(organisation_id=organisation_id),
            "invitations": member_selectors.list_open_invitations(organisation_id=organisation_id),
            "now": timezone.now(),
        },
    )


@org_admin_view
def member_invite(request: HttpRequest) -> HttpResponse:
    form = member_forms.InvitationForm(
        _posted(request), organisation_id=_actor(request).organisation_id
    )
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitations.send_invitation(
                actor=_actor(request),
                email=form.cleaned_data["email"],
                roles=form.cleaned_data["roles"],
                site_url=absolute_url("/"),
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request,
                _("An invitation has been sent to %(email)s.") % {"email": invitation.email},
            )
            return tenant_redirect(request, "members:list")
    return render(
        request,
        "identity/members_invite.html",
        {"form": form, "invitation_days": links.validity_days()},
    )


def _member_or_404(request: HttpRequest, pk: int) -> Any:
    membership = member_selectors.member(
        organisation_id=_actor(request).organisation_id, membership_id=pk
    )
    if membership is None or not membership.is_active:
        raise Http404
    return membership


@org_admin_view
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _member_or_404(request, pk)
    form = member_forms.RolesForm(
        _posted(request),
        initial={"roles": sorted(membership.role_codes())},
        organisation_id=_actor(request).organisation_id,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.change_roles(
                actor=_actor(request),
                membership_id=membership.pk,
                roles=form.cleaned_data["roles"],
                request_context=audit.request_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The roles have been saved."))
            return tenant_redirect(request, "members:list")
    return render(
        request,
        "identity/members_detail.html",
        {
            "membership": membership,
            "form": form,
            "is_own": membership.pk == _actor(request).pk,
        },
    )


@org_admin_view
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    # The lookup comes before the method check: another organisation's number is a 404
    # whatever the method.
    membership = _member_or_404(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.deactivate_membership(
            actor=_actor(request),
            membership_id=membership.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
        return tenant_redirect(request, "members:detail", pk=membership.pk)
    messages.success(
        request,
        _("%(person)s no longer acts for your organisation.")
        % {"person": membership.user.get_full_name() or membership.user.email},
    )
    return tenant_redirect(request, "members:list")


@org_admin_view
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = member_selectors.invitation(
        organisation_id=_actor(request).organisation_id, invitation_id=pk
    )
    if invitation is None:
        raise Http404
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        invitations.revoke_invitation(
            actor=_actor(request),
            invitation_id=invitation.pk,
            request_context=audit.request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The invitation sent to %(email)s has been withdrawn.") % {"email": invitation.email},
        )
    return tenant_redirect(request, "members:list")
