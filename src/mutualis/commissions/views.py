"""The commissions' pages, under ``/o/<slug>/commissions/``: the organisation's
commissions and their members (administrators compose them), their meetings (buyers and
secretaries plan, convene, record the attendance and issue the minutes), and the choice
of a consultation's commission (buyers, on the consultation's page). Commission members
read. Anyone else, and any other member's object, gets 404. Thin: the rules are in
``services.py`` and ``meetings.py``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.files.download import serve_file
from mutualis.core.forms import show_error
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect
from mutualis.procurement import selectors as procurement_selectors

from . import errors, forms, meetings, selectors, services, transitions
from .models import Commission, Meeting, MeetingStatus
from .services import ASSIGNERS, MANAGERS, MEETING_MANAGERS, READERS, SERVICE

# How many of the member's latest consultations the agenda form offers.
AGENDA_CHOICES = 100


def _actor(request: HttpRequest) -> Any:
    return request.membership  # type: ignore[attr-defined]


def _can(request: HttpRequest, roles: tuple[str, ...]) -> bool:
    return bool(_actor(request).role_codes() & set(roles))


def _commission_or_404(request: HttpRequest, pk: int) -> Commission:
    commission = selectors.commission(
        organisation_id=_actor(request).organisation_id, commission_id=pk
    )
    if commission is None:
        raise Http404
    return commission


def _meeting_or_404(request: HttpRequest, pk: int) -> Meeting:
    meeting = selectors.meeting(organisation_id=_actor(request).organisation_id, meeting_id=pk)
    if meeting is None:
        raise Http404
    return meeting


def _attempt(form: Any, call: Callable[[], Any]) -> Any:
    """Call the service; on a refusal, put its message on the form and give None."""
    try:
        return call()
    except MutualisError as exc:
        show_error(form, exc)
        return None


# --- Commissions -----------------------------------------------------------------------


@role_required(*READERS)
@subscription_required(SERVICE)
@require_http_methods(["GET", "HEAD", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    may_manage = _can(request, MANAGERS)
    form = forms.CommissionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_manage:
            raise Http404
        if form.is_valid():
            commission = _attempt(
                form,
                lambda: services.create_commission(
                    actor=actor, **form.cleaned_data, request_context=request_context(request)
                ),
            )
            if commission is not None:
                messages.success(request, _("The commission is created."))
                return tenant_redirect(request, "commissions:detail", pk=commission.pk)
    return render(
        request,
        "commissions/index.html",
        {
            "commissions": selectors.commissions_of(organisation_id=actor.organisation_id),
            "form": form,
            "may_manage": may_manage,
        },
        status=400 if request.method == "POST" else 200,
    )


def _detail_page(
    request: HttpRequest, commission: Commission, *, status: int = 200, **shown: Any
) -> HttpResponse:
    """The commission's page; ``shown``: a form posted again with its errors
    (``edit_form``, ``member_form`` or ``external_form``)."""
    actor = _actor(request)
    members = selectors.current_members(
        organisation_id=actor.organisation_id, commission_id=commission.pk
    )
    seated = {m.membership_id for m in members}
    candidates = [
        m for m in selectors.candidates(organisation_id=actor.organisation_id) if m.pk not in seated
    ]
    return render(
        request,
        "commissions/detail.html",
        {
            "commission": commission,
            "members": [
                (
                    m,
                    forms.SeatForm(
                        initial={"seat": m.seat, "vote": m.vote, "is_president": m.is_president},
                        prefix=f"m{m.pk}",
                    ),
                )
                for m in members
            ],
            "externals": [
                (
                    e,
                    forms.ExternalForm(
                        initial={
                            "name": e.name,
                            "quality": e.quality,
                            "title": e.title,
                            "email": e.email,
                        },
                        prefix=f"x{e.pk}",
                    ),
                )
                for e in selectors.current_externals(
                    organisation_id=actor.organisation_id, commission_id=commission.pk
                )
            ],
            "external_form": shown.get("external_form") or forms.ExternalForm(prefix="external"),
            "meetings": selectors.meetings_of(
                organisation_id=actor.organisation_id, commission_id=commission.pk
            ),
            "may_manage": _can(request, MANAGERS),
            "may_plan": _can(request, MEETING_MANAGERS),
            "edit_form": shown.get("edit_form")
            or forms.CommissionForm(
                initial={
                    "name": commission.name,
                    "kind": commission.kind,
                    "quorum_rule": commission.quorum_rule,
                }
            ),
            "member_form": shown.get("member_form") or forms.MemberForm(candidates=candidates),
        },
        status=status,
    )


@role_required(*READERS)
@subscription_required(SERVICE)
@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, _commission_or_404(request, pk))


# Each form of the commission's page posts to a view that calls one service with the
# actor, the commission and the request's audit context. A member and an outside attendee
# are added, changed and removed alike: only their form, service and messages differ.


def _on(request: HttpRequest, commission: Commission) -> dict[str, Any]:
    """What every service of the commission's page is given besides the form's data."""
    return {
        "actor": _actor(request),
        "commission_id": commission.pk,
        "request_context": request_context(request),
    }


def _page_form(
    request: HttpRequest,
    commission: Commission,
    form: Any,
    service: Callable[..., Any],
    success: str,
    *,
    slot: str,
) -> HttpResponse:
    """A form of the page posted: on success, its message and back to the page; else the
    page again, the form (in ``slot``) with its errors (400)."""
    if form.is_valid() and _attempt(
        form, lambda: service(**_on(request, commission), **form.cleaned_data)
    ):
        messages.success(request, success)
        return tenant_redirect(request, "commissions:detail", pk=commission.pk)
    return _detail_page(request, commission, status=400, **{slot: form})


def _form_messages(request: HttpRequest, form: Any) -> None:
    for refusals in form.errors.values():
        for error in refusals:
            messages.error(request, str(error))


def _seat_messages(request: HttpRequest, form: Any) -> None:
    # A seat form its own fields refuse holds a seat or a vote not offered (forged, or
    # missing): told as that, not with Django's message, which repeats the posted value.
    # The service's refusals (the president's among them) are told by their own message.
    messages.error(request, str(errors.ChoiceInvalid.message))


def _tell(request: HttpRequest, call: Callable[[], Any], success: str) -> None:
    """Call the service; show its refusal, or ``success``."""
    try:
        call()
    except MutualisError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, success)


def _row_changed(
    request: HttpRequest,
    commission: Commission,
    service: Callable[..., Any],
    success: str,
    *,
    form: Any = None,
    report: Callable[[HttpRequest, Any], None] = _form_messages,
) -> HttpResponse:
    """A member's or an outside attendee's row changed from its form in the page's table
    (or removed, without one): the outcome told in a message, back to the page. ``report``
    tells what the form itself refuses; a refusal of the service is told by its own
    message."""
    if form is not None and not form.is_valid():
        report(request, form)
    else:
        values = form.cleaned_data if form is not None else {}
        _tell(request, lambda: service(**_on(request, commission), **values), success)
    return tenant_redirect(request, "commissions:detail", pk=commission.pk)


@role_required(*MANAGERS)
@subscription_required(SERVICE)
@require_POST
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _page_form(
        request,
        _commission_or_404(request, pk),
        forms.CommissionForm(request.POST),
        services.update_commission,
        _("The commission is saved."),
        slot="edit_form",
    )


def _add_member(*, membership: int, **values: Any) -> Any:
    return services.add_member(membership_id=membership, **values)


@role_required(*MANAGERS)
@subscription_required(SERVICE)
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    candidates = selectors.candidates(organisation_id=_actor(request).organisation_id)
    return _page_form(
        request,
        _commission_or_404(request, pk),
        forms.MemberForm(request.POST, candidates=list(candidates)),
        _add_member,
        _("The member is added."),
        slot="member_form",
    )


@role_required(*MANAGERS)
@subscription_required(SERVICE)
@require_POST
def member_update(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    return _row_changed(
        request,
        _commission_or_404(request, pk),
        partial(services.update_member, member_id=member_id),
        _("The member is saved."),
        form=forms.SeatForm(request.POST, prefix=f"m{member_id}"),
        report=_seat_messages,
    )


@role_required(*MANAGERS)
@subscription_required(SERVICE)
@require_POST
def member_remove(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    return _row_changed(
        request,
        _commission_or_404(request, pk),
        partial(services.remove_member, member_id=member_id),
        _("The member has left the commission."),
    )


@role_required(*MANAGERS)
@subscription_required(SERVICE)
@require_POST
def external_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _page_form(
        request,
        _commission_or_404(request, pk),
        forms.ExternalForm(request.POST, prefix="external"),
        services.add_external,
        _("The outside attendee is added."),
        slot="external_form",
    )


@role_required(*MANAGERS)
@subscription_required(SERVICE)
@require_POST
def external_update(request: HttpRequest, pk: int, external_id: int) -> HttpResponse:
    return _row_changed(
        request,
        _commission_or_404(request, pk),
        partial(services.update_external, external_id=external_id),
        _("The outside attendee is saved."),
        form=forms.ExternalForm(request.POST, prefix=f"x{external_id}"),
    )


@role_required(*MANAGERS)
@subscription_required(SERVICE)
@require_POST
def external_remove(request: HttpRequest, pk: int, external_id: int) -> HttpResponse:
    return _row_changed(
        request,
        _commission_or_404(request, pk),
        partial(services.remove_external, external_id=external_id),
        _("The outside attendee is no longer convened."),
    )


# --- Meetings --------------------------------------------------------------------------


def _agenda_choices(request: HttpRequest, commission: Commission) -> list[Any]:
    return selectors.agenda_candidates(
        organisation_id=_actor(request).organisation_id,
        commission_id=commission.pk,
        limit=AGENDA_CHOICES,
    )


def _meeting_input(form: forms.MeetingForm) -> meetings.MeetingInput:
    data = form.cleaned_data
    return meetings.MeetingInput(
        starts_at=data["starts_at"],
        duration_minutes=data["duration_minutes"],
        place=data["place"],
        video_url=data["video_url"],
    )


@role_required(*MEETING_MANAGERS)
@subscription_required(SERVICE)
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_new(request: HttpRequest, pk: int) -> HttpResponse:
    commission = _commission_or_404(request, pk)
    form = forms.MeetingForm(
        request.POST if request.method == "POST" else None,
        consultations=_agenda_choices(request, commission),
    )
    if request.method == "POST" and form.is_valid():
        meeting = _attempt(
            form,
            lambda: meetings.plan_meeting(
                actor=_actor(request),
                commission_id=commission.pk,
                data=_meeting_input(form),
                consultation_ids=form.agenda(),
                request_context=request_context(request),
            ),
        )
        if meeting is not None:
            messages.success(request, _("The meeting is planned."))
            return tenant_redirect(request, "commissions:meeting", pk=meeting.pk)
    return render(
        request,
        "commissions/meeting_form.html",
        {"commission": commission, "form": form, "meeting": None},
        status=400 if request.method == "POST" else 200,
    )


@role_required(*READERS)
@subscription_required(SERVICE)
@require_safe
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    may_act = _can(request, MEETING_MANAGERS)
    return render(
        request,
        "commissions/meeting.html",
        {
            "meeting": meeting,
            "commission": meeting.commission,
            "may_act": may_act,
            "may_amend": may_act and transitions.allowed(meeting, transitions.Event.AMEND),
            "may_convene": may_act and transitions.allowed(meeting, transitions.Event.CONVENE),
            "may_cancel": may_act and transitions.allowed(meeting, transitions.Event.CANCEL),
            "may_attend": may_act
            and transitions.allowed(meeting, transitions.Event.RECORD_ATTENDANCE),
            "may_issue": may_act and transitions.allowed(meeting, transitions.Event.ISSUE_MINUTES),
            "may_reconvene": may_act
            and meeting.quorum_reached is False
            and not Meeting.objects.filter(
                organisation_id=meeting.organisation_id, reconvened_from=meeting
            ).exists(),
            "may_read_minutes": may_read_minutes(request, meeting),
            "cancel_form": forms.CancelForm(),
            "statuses": MeetingStatus,
        },
    )


@role_required(*MEETING_MANAGERS)
@subscription_required(SERVICE)
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    positions = {f"position_{item.consultation_id}": item.position for item in meeting.items.all()}
    form = forms.MeetingForm(
        request.POST if request.method == "POST" else None,
        consultations=_agenda_choices(request, meeting.commission),
        initial={
            "starts_at": meeting.starts_at,
            "duration_minutes": meeting.duration_minutes,
            "place": meeting.place,
            "video_url": meeting.video_url,
            **positions,
        },
    )
    if request.method == "POST" and form.is_valid():
        done = _attempt(
            form,
            lambda: meetings.amend_meeting(
                actor=_actor(request),
                meeting_id=meeting.pk,
                data=_meeting_input(form),
                consultation_ids=form.agenda(),
                request_context=request_context(request),
            ),
        )
        if done is not None:
            messages.success(request, _("The meeting is saved."))
            return tenant_redirect(request, "commissions:meeting", pk=meeting.pk)
    return render(
        request,
        "commissions/meeting_form.html",
        {"commission": meeting.commission, "form": form, "meeting": meeting},
        status=400 if request.method == "POST" else 200,
    )


def _step(request: HttpRequest, pk: int, call: Callable[[Any], Any], success: str) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    _tell(request, lambda: call(meeting), success)
    return tenant_redirect(request, "commissions:meeting", pk=meeting.pk)


@role_required(*MEETING_MANAGERS)
@subscription_required(SERVICE)
@require_POST
def meeting_convene(request: HttpRequest, pk: int) -> HttpResponse:
    return _step(
        request,
        pk,
        lambda m: meetings.convene_meeting(
            actor=_actor(request), meeting_id=m.pk, request_context=request_context(request)
        ),
        _("The members are convened."),
    )


@role_required(*MEETING_MANAGERS)
@subscription_required(SERVICE)
@require_POST
def meeting_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    form = forms.CancelForm(request.POST)
    if not form.is_valid():
        meeting = _meeting_or_404(request, pk)
        _form_messages(request, form)
        return tenant_redirect(request, "commissions:meeting", pk=meeting.pk)
    return _step(
        request,
        pk,
        lambda m: meetings.cancel_meeting(
            actor=_actor(request),
            meeting_id=m.pk,
            reason=form.cleaned_data["reason"],
            request_context=request_context(request),
        ),
        _("The meeting is cancelled."),
    )


@role_required(*MEETING_MANAGERS)
@subscription_required(SERVICE)
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    actor = _actor(request)
    members = selectors.current_members(
        organisation_id=actor.organisation_id, commission_id=meeting.commission_id
    )
    form = forms.AttendanceForm(
        request.POST if request.method == "POST" else None,
        members=members,
        current={row.member_id: row for row in meeting.attendance.all()},
        externals=selectors.current_externals(
            organisation_id=actor.organisation_id, commission_id=meeting.commission_id
        ),
        current_externals={row.external_id: row for row in meeting.external_attendance.all()},
    )
    if request.method == "POST" and form.is_valid():
        done = _attempt(
            form,
            lambda: meetings.record_attendance(
                actor=actor,
                meeting_id=meeting.pk,
                presences={
                    k: meetings.Presence(status, replaced_by)
                    for k, (status, replaced_by) in form.presences().items()
                },
                external_presences=form.external_presences(),
                request_context=request_context(request),
            ),
        )
        if done is not None:
            messages.success(request, _("The attendance is recorded."))
            return tenant_redirect(request, "commissions:meeting", pk=meeting.pk)
    return render(
        request,
        "commissions/attendance.html",
        {"meeting": meeting, "commission": meeting.commission, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@role_required(*MEETING_MANAGERS)
@subscription_required(SERVICE)
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    form = forms.MinutesForm(
        request.POST if request.method == "POST" else None, items=list(meeting.items.all())
    )
    if request.method == "POST" and form.is_valid():
        done = _attempt(
            form,
            lambda: meetings.issue_minutes(
                actor=_actor(request),
                meeting_id=meeting.pk,
                decisions=form.decisions(),
                request_context=request_context(request),
            ),
        )
        if done is not None:
            messages.success(request, _("The minutes are issued."))
            return tenant_redirect(request, "commissions:meeting", pk=meeting.pk)
    return render(
        request,
        "commissions/minutes.html",
        {"meeting": meeting, "commission": meeting.commission, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def may_read_minutes(request: HttpRequest, meeting: Meeting) -> bool:
    """The minutes are for the buyers, the secretaries and the commission's members."""
    actor = _actor(request)
    if actor.role_codes() & set(MEETING_MANAGERS):
        return True
    return actor.has_role(services.COMMISSION_MEMBER) and selectors.is_member(
        organisation_id=actor.organisation_id,
        commission_id=meeting.commission_id,
        membership_id=actor.pk,
    )


@role_required(*READERS)
@subscription_required(SERVICE)
@require_safe
def meeting_minutes_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    if meeting.minutes is None or not may_read_minutes(request, meeting):
        raise Http404
    return serve_file(request, meeting.minutes, public=False)  # type: ignore[return-value]


@role_required(*MEETING_MANAGERS)
@subscription_required(SERVICE)
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_reconvene(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _meeting_or_404(request, pk)
    form = forms.MeetingForm(
        request.POST if request.method == "POST" else None,
        initial={
            "duration_minutes": meeting.duration_minutes,
            "place": meeting.place,
            "video_url": meeting.video_url,
        },
    )
    if request.method == "POST" and form.is_valid():
        new = _attempt(
            form,
            lambda: meetings.reconvene_meeting(
                actor=_actor(request),
                meeting_id=meeting.pk,
                data=_meeting_input(form),
                request_context=request_context(request),
            ),
        )
        if new is not None:
            messages.success(request, _("The new meeting is planned: convene it."))
            return tenant_redirect(request, "commissions:meeting", pk=new.pk)
    return render(
        request,
        "commissions/meeting_form.html",
        {"commission": meeting.commission, "form": form, "meeting": None, "previous": meeting},
        status=400 if request.method == "POST" else 200,
    )


# --- A consultation's commission ----------------------------------------------------------


@role_required(*ASSIGNERS)
@subscription_required(SERVICE)
@require_POST
def assign(request: HttpRequest, consultation_id: int) -> HttpResponse:
    actor = _actor(request)
    consultation = procurement_selectors.consultation(
        organisation_id=actor.organisation_id, consultation_id=consultation_id
    )
    if consultation is None:
        raise Http404
    form = forms.AssignForm(
        request.POST,
        commissions=list(selectors.commissions_of(organisation_id=actor.organisation_id)),
    )
    if form.is_valid():
        _tell(
            request,
            lambda: services.assign_consultation(
                actor=actor,
                consultation_id=consultation.pk,
                commission_id=form.cleaned_data["commission"],
                request_context=request_context(request),
            ),
            _("The consultation's commission is saved."),
        )
    else:
        _form_messages(request, form)
    return tenant_redirect(request, "procurement:detail", pk=consultation.pk)


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The commission section of the buyer's consultation page: which commission examines
    it (buyers choose), and its meetings."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.is_active:
        return None
    if not membership.role_codes() & set(READERS):
        return None
    organisation_id = membership.organisation_id
    commission = selectors.commission_of_consultation(
        organisation_id=organisation_id, consultation_id=consultation.pk
    )
    commissions = list(selectors.commissions_of(organisation_id=organisation_id))
    may_assign = membership.role_codes() & set(ASSIGNERS)
    return {
        "commission": commission,
        "commission_meetings": list(
            selectors.meetings_of_consultation(
                organisation_id=organisation_id, consultation_id=consultation.pk
            )
        ),
        "assign_form": forms.AssignForm(
            commissions=commissions, initial={"commission": commission.pk if commission else ""}
        )
        if may_assign and commissions
        else None,
        "assign_url": reverse(
            "commissions:assign",
            kwargs={"org": membership.organisation.slug, "consultation_id": consultation.pk},
        ),
        "commissions_url": reverse(
            "commissions:index", kwargs={"org": membership.organisation.slug}
        ),
    }
