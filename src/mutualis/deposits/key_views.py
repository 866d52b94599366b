"""Pages of the key ceremony, under ``/o/<slug>/deposits/``:

- ``keys/``: the organisation's opening-key holders (no secret), the enrolment of the
  acting commission member, and the defaults k of n for buyers;
- ``consultations/<id>/key/``: a consultation's opening key, made by a buyer.

The cryptography runs in the browser (``static/mutualis/deposits/keys.js``); these views
hand the page what it needs and pass what it posts to ``keys.py``. Anyone without the
right role, and any other member's consultation, gets 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from mutualis.commissions import selectors as commission_selectors
from mutualis.core import audit
from mutualis.core.errors import MutualisError
from mutualis.core.forms import show_error
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect
from mutualis.procurement import selectors as procurement_selectors
from mutualis.procurement.models import Consultation, State

from . import key_forms, keys
from .models import OpeningKey

_ALL = (keys.COMMISSION_MEMBER, keys.BUYER, "org_admin")


def _actor(request: HttpRequest) -> Any:
    return request.membership  # type: ignore[attr-defined]


def _context(request: HttpRequest) -> dict[str, Any]:
    return audit.request_context(request)


def _holders_page(
    request: HttpRequest,
    *,
    enrol_form: key_forms.EnrolForm | None = None,
    defaults_form: key_forms.DefaultsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = _actor(request)
    organisation_id = actor.organisation_id
    defaults = keys.defaults_of(organisation_id=organisation_id)
    mine = keys.current_key(organisation_id=organisation_id, user_id=actor.user_id)
    return render(
        request,
        "deposits/keys_holders.html",
        {
            "holders": keys.active_holders(organisation_id=organisation_id),
            "mine": mine,
            "may_enrol": keys.is_holder_candidate(actor),
            "may_set_defaults": bool(actor.role_codes() & {keys.BUYER, "org_admin"}),
            "defaults": defaults,
            "enrol_form": enrol_form or key_forms.EnrolForm(),
            "defaults_form": defaults_form
            or key_forms.DefaultsForm(
                initial={"threshold": defaults.threshold, "share_count": defaults.share_count}
            ),
            "enrol_config": {
                "mode": "enrol",
                "sealing": static("vendor/sealing/sealing.min.js"),
                "formats": static("mutualis/deposits/keys-formats.js"),
                "minLength": 12,
                "replacing": mine is not None,
                "messages": {
                    "mismatch": _("The two passphrases differ."),
                    "short": _("The passphrase must have at least 12 characters."),
                    "working": _("Generating and sealing your key… (a few seconds)"),
                    "failed": _("Your browser could not generate the key."),
                },
            },
        },
        status=status,
    )


@role_required(*_ALL)
@subscription_required(keys.SERVICE)
@require_http_methods(["GET", "HEAD"])
def holders(request: HttpRequest) -> HttpResponse:
    return _holders_page(request)


@role_required(keys.COMMISSION_MEMBER)
@subscription_required(keys.SERVICE)
@require_POST
def enrol(request: HttpRequest) -> HttpResponse:
    form = key_forms.EnrolForm(request.POST)
    if form.is_valid():
        try:
            keys.enrol_holder(
                actor=_actor(request),
                recipient=form.cleaned_data["recipient"],
                sealed_identity=form.cleaned_data["sealed_identity"],
                request_context=_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("Your opening key is enrolled."))
            return tenant_redirect(request, "deposits_keys:holders")
    return _holders_page(request, enrol_form=form, status=400)


@role_required(keys.BUYER, "org_admin")
@subscription_required(keys.SERVICE)
@require_POST
def defaults(request: HttpRequest) -> HttpResponse:
    form = key_forms.DefaultsForm(request.POST)
    if form.is_valid():
        try:
            keys.set_defaults(
                actor=_actor(request),
                threshold=form.cleaned_data["threshold"],
                share_count=form.cleaned_data["share_count"],
                request_context=_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The defaults of new opening keys are saved."))
            return tenant_redirect(request, "deposits_keys:holders")
    return _holders_page(request, defaults_form=form, status=400)


def _consultation_or_404(request: HttpRequest, pk: int) -> Consultation:
    consultation = procurement_selectors.consultation(
        organisation_id=_actor(request).organisation_id, consultation_id=pk
    )
    if consultation is None:
        raise Http404
    return consultation


def may_change_key(consultation: Consultation, *, now: Any = None) -> bool:
    now = now or timezone.now()
    return (
        consultation.state not in (State.CLOSED, State.CANCELLED)
        and consultation.response_deadline > now
    )


@role_required(keys.BUYER)
@subscription_required(keys.SERVICE)
@require_http_methods(["GET", "HEAD", "POST"])
def opening_key(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    consultation = _consultation_or_404(request, pk)
    holders = keys.active_holders(
        organisation_id=actor.organisation_id, consultation_id=consultation.pk
    )
    threshold, count = keys.proposal(
        organisation_id=actor.organisation_id, holder_count=len(holders)
    )
    form = key_forms.OpeningKeyForm(
        request.POST if request.method == "POST" else None,
        holders=holders,
        initial={"holders": [str(h.pk) for h in holders[:count]], "threshold": threshold},
    )
    if request.method == "POST" and form.is_valid():
        try:
            keys.register_opening_key(
                actor=actor,
                consultation_id=consultation.pk,
                data=form.to_input(),
                request_context=_context(request),
            )
        except MutualisError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("The opening key is registered."))
            return tenant_redirect(request, "procurement:detail", pk=consultation.pk)
    current = keys.opening_key_of(
        organisation_id=actor.organisation_id, consultation_id=consultation.pk
    )
    return render(
        request,
        "deposits/keys_opening.html",
        {
            "consultation": consultation,
            "form": form,
            "holders": holders,
            "current": current,
            "may_change": may_change_key(consultation),
            "has_deposits": current is not None and keys.has_deposits(current),
            "opening_config": {
                "mode": "opening",
                "sealing": static("vendor/sealing/sealing.min.js"),
                "formats": static("mutualis/deposits/keys-formats.js"),
                "consultation": consultation.reference,
                "title": consultation.title,
                "organisation": actor.organisation.name,
                "recipients": {str(h.pk): h.recipient for h in holders},
                "messages": {
                    "working": _("Generating the key and sealing the shares…"),
                    "failed": _("Your browser could not generate the key."),
                    "threshold": _(
                        "The members needed to open must be between 1 and the number of"
                        " holders chosen."
                    ),
                    "changed": _(
                        "The choice changed: the key must be generated again (discard the"
                        " sheet printed before)."
                    ),
                },
            },
            "commission": commission_selectors.commission_of_consultation(
                organisation_id=actor.organisation_id, consultation_id=consultation.pk
            ),
            "holders_url": reverse(
                "deposits_keys:holders", kwargs={"org": actor.organisation.slug}
            ),
        },
        status=400 if request.method == "POST" else 200,
    )


def section_context(request: HttpRequest, consultation: Consultation) -> dict[str, Any] | None:
    """The opening key's section of the buyer's consultation page."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.has_role(keys.BUYER):
        return None
    current = OpeningKey.objects.filter(
        organisation_id=membership.organisation_id, consultation_id=consultation.pk
    ).first()
    return {
        "opening_key": current,
        "may_change": may_change_key(consultation),
        "key_url": reverse(
            "deposits_keys:opening_key",
            kwargs={"org": membership.organisation.slug, "pk": consultation.pk},
        ),
    }
