"""The buyer's award and contract pages, under ``/o/<slug>/contracts/``: a consultation's
offers and decisions per lot, the letters, the standstill countdown, the contract record
and its amendments. Buyers of the organisation in the path act; commission members read;
anyone else gets 404. Thin: the rules are in ``awards.py`` and ``records.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mutualis.core import registry
from mutualis.core.audit import request_context
from mutualis.core.errors import MutualisError
from mutualis.core.files.download import serve_file
from mutualis.core.permissions import role_required
from mutualis.core.subscriptions import subscription_required
from mutualis.core.tenancy import tenant_redirect

from . import archive, awards, contract_transitions, orders, records, rules
from .models import MAX_REASONS, AwardOutcome, AwardState, GroupingType

READERS = records.READERS
MAX_FIELD = MAX_REASONS
MAX_LINES = 4000


def _field(request: HttpRequest, name: str, limit: int = MAX_FIELD) -> str:
    return str(request.POST.get(name, ""))[: limit + 1]


def _int(request: HttpRequest, name: str) -> int | None:
    value = str(request.POST.get(name, "")).strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def _lines(request: HttpRequest, name: str) -> list[str]:
    return _field(request, name, MAX_LINES).splitlines()


def section_context(request: HttpRequest, consultation: Any) -> dict[str, Any] | None:
    """The link to the award on the buyer's page of a consultation, once its offers are
    opened or it is cancelled."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.role_codes() & set(READERS):
        return None
    if not consultation.is_public or consultation.takes_applications:
        return None
    return {
        "awards_url": reverse(
            "contracts:awards",
            kwargs={"org": membership.organisation.slug, "pk": consultation.pk},
        )
    }


def _back(request: HttpRequest, pk: int) -> HttpResponse:
    return tenant_redirect(request, "contracts:awards", pk=pk)


def _done(request: HttpRequest, call: Any, success: str) -> bool:
    try:
        call()
    except MutualisError as exc:
        messages.error(request, str(exc.message))
        return False
    messages.success(request, success)
    return True


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def awards_page(request: HttpRequest, pk: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    overview = awards.overview(organisation_id=membership.organisation_id, consultation_id=pk)
    if overview is None:
        raise Http404
    today = awards.paris_today()
    lots = []
    for row in overview.lots:
        award = row.award
        days_left = None
        if award is not None and award.standstill_ends_on is not None:
            days_left = max((award.standstill_ends_on - today).days + 1, 0)
        lots.append(
            {
                "row": row,
                "letters": awards.letters_of_award(
                    organisation_id=membership.organisation_id, award_id=award.pk
                )
                if award is not None and award.state != AwardState.DRAFT
                else [],
                "days_left": days_left,
                "contract": getattr(award, "contract", None)
                if award is not None and award.state == AwardState.CONTRACTED
                else None,
            }
        )
    return render(
        request,
        "contracts/awards.html",
        {
            "consultation": overview.consultation,
            "overview": overview,
            "lots": lots,
            "outcomes": AwardOutcome,
            "states": AwardState,
            "groupings": GroupingType.choices,
            "can_act": "buyer" in membership.role_codes(),
            "max_reasons": MAX_REASONS,
            "cancelled": overview.consultation.state == "cancelled",
            "is_framework": rules.is_framework(overview.consultation),
            "finished": archive.finished(overview.consultation),
            "packages": archive.packages_of(
                organisation_id=membership.organisation_id, consultation_id=pk
            ),
        },
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _int(request, "lot")
    _done(
        request,
        lambda: awards.decide(
            actor=request.membership,  # type: ignore[attr-defined]
            consultation_id=pk,
            lot_id=lot or None,
            outcome=_field(request, "outcome", 20),
            company_id=_int(request, "company"),
            amount=_field(request, "amount", 30),
            reasons=_field(request, "reasons"),
            context=request_context(request),
        ),
        _("The decision is recorded; notify it when ready."),
    )
    return _back(request, pk)


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def notify(request: HttpRequest, pk: int, award_id: int) -> HttpResponse:
    _done(
        request,
        lambda: awards.notify(
            actor=request.membership,  # type: ignore[attr-defined]
            award_id=award_id,
            context=request_context(request),
        ),
        _("The letters are sent to the bidders."),
    )
    return _back(request, pk)


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def notify_cancellation(request: HttpRequest, pk: int) -> HttpResponse:
    _done(
        request,
        lambda: awards.notify_cancellation(
            actor=request.membership,  # type: ignore[attr-defined]
            consultation_id=pk,
            context=request_context(request),
        ),
        _("The decision is sent to every bidder."),
    )
    return _back(request, pk)


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def abandon(request: HttpRequest, pk: int, award_id: int) -> HttpResponse:
    _done(
        request,
        lambda: awards.abandon(
            actor=request.membership,  # type: ignore[attr-defined]
            award_id=award_id,
            reason=_field(request, "reason"),
            context=request_context(request),
        ),
        _("The award is abandoned."),
    )
    return _back(request, pk)


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def letter_pdf(request: HttpRequest, pk: int, award_id: int, letter_id: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    for letter in awards.letters_of_award(
        organisation_id=membership.organisation_id, award_id=award_id
    ):
        if letter.pk == letter_id and letter.award.consultation_id == pk and letter.pdf:
            return serve_file(request, letter.pdf, public=False)  # type: ignore[return-value]
    raise Http404


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def sign(request: HttpRequest, pk: int, award_id: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    try:
        contract = records.sign(
            actor=membership,
            award_id=award_id,
            reference=_field(request, "reference", 20),
            holder_siret=_field(request, "holder_siret", 30),
            amount=_field(request, "amount", 30),
            duration_months=_field(request, "duration_months", 10),
            signed_on=_field(request, "signed_on", 20),
            grouping=_field(request, "grouping", 20),
            co_contractors=_lines(request, "co_contractors"),
            subcontractors=_lines(request, "subcontractors"),
            framework_maximum=_field(request, "framework_maximum", 30),
            context=request_context(request),
        )
    except MutualisError as exc:
        messages.error(request, str(exc.message))
        return _back(request, pk)
    messages.success(request, _("The contract is recorded; notify it to the holder."))
    return tenant_redirect(request, "contracts:contract", contract_id=contract.pk)


@role_required(*READERS)
@subscription_required("procurement")
@require_safe
def contract_page(request: HttpRequest, contract_id: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    contract = records.contract_of(
        organisation_id=membership.organisation_id, contract_id=contract_id
    )
    if contract is None:
        raise Http404
    amendments = records.amendments_of(contract, side="organisation")
    amount, months = records.current_terms(contract, amendments)
    return render(
        request,
        "contracts/contract.html",
        {
            "contract": contract,
            "award": contract.award,
            "amendments": amendments,
            "current_amount": amount,
            "current_months": months,
            "can_act": "buyer" in membership.role_codes(),
            "can": {
                event.value: contract_transitions.allowed(contract, event)
                for event in contract_transitions.Event
            },
            "amendable": contract_transitions.amendable(contract),
            "max_reasons": MAX_REASONS,
            "orders": orders_context(contract, side="organisation"),
            # What contexts above contracts add (the DECP entry and its clock).
            "sections": registry.render_contract_sections(request, contract),
        },
    )


def orders_context(contract: Any, *, side: str) -> dict[str, Any] | None:
    """The orders of a framework agreement's contract for its pages (None otherwise)."""
    if not rules.is_framework(contract.award.consultation):
        return None
    return orders.summary(contract, orders.orders_of(contract, side=side))


def _contract_action(
    request: HttpRequest, contract_id: int, call: Any, success: str
) -> HttpResponse:
    _done(request, call, success)
    return tenant_redirect(request, "contracts:contract", contract_id=contract_id)


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def contract_notify(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _contract_action(
        request,
        contract_id,
        lambda: records.send_notification(
            actor=request.membership,  # type: ignore[attr-defined]
            contract_id=contract_id,
            context=request_context(request),
        ),
        _("The notification is sent; the holder confirms its receipt on its page."),
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def contract_step(request: HttpRequest, contract_id: int, step: str) -> HttpResponse:
    actor = request.membership  # type: ignore[attr-defined]
    context = request_context(request)
    day = _field(request, "date", 20)
    calls = {
        "start": lambda: records.start_execution(
            actor=actor, contract_id=contract_id, started_on=day, context=context
        ),
        "complete": lambda: records.complete(
            actor=actor, contract_id=contract_id, ended_on=day, context=context
        ),
        "terminate": lambda: records.terminate(
            actor=actor,
            contract_id=contract_id,
            ended_on=day,
            reason=_field(request, "reason"),
            context=context,
        ),
    }
    if step not in calls:
        raise Http404
    return _contract_action(request, contract_id, calls[step], _("The contract is updated."))


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def amend(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _contract_action(
        request,
        contract_id,
        lambda: records.amend(
            actor=request.membership,  # type: ignore[attr-defined]
            contract_id=contract_id,
            object=_field(request, "object", 1000),
            notified_on=_field(request, "notified_on", 20),
            new_amount=_field(request, "new_amount", 30),
            new_duration_months=_field(request, "new_duration_months", 10),
            context=request_context(request),
        ),
        _("The amendment is recorded."),
    )


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def order(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _contract_action(
        request,
        contract_id,
        lambda: orders.add_order(
            actor=request.membership,  # type: ignore[attr-defined]
            contract_id=contract_id,
            number=_field(request, "number", 40),
            issued_on=_field(request, "issued_on", 20),
            object=_field(request, "object", 1000),
            amount=_field(request, "amount", 30),
            context=request_context(request),
        ),
        _("The order is recorded."),
    )


# --- Archive packages and the export (archive.py) ---------------------------------------


@role_required("buyer")
@subscription_required("procurement")
@require_POST
def archive_request(request: HttpRequest, pk: int) -> HttpResponse:
    _done(
        request,
        lambda: archive.request_package(
            actor=request.membership,  # type: ignore[attr-defined]
            consultation_id=pk,
            context=request_context(request),
        ),
        _("The archive package is being prepared: download it here once ready."),
    )
    return _back(request, pk)


@role_required("buyer")
@subscription_required("procurement")
def export_page(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    if request.method == "POST":
        _done(
            request,
            lambda: archive.request_package(
                actor=membership, consultation_id=None, context=request_context(request)
            ),
            _("The export is being prepared: download it here once ready."),
        )
        return tenant_redirect(request, "contracts:export")
    if request.method not in ("GET", "HEAD"):
        raise Http404
    return render(
        request,
        "contracts/export.html",
        {
            "packages": archive.packages_of(
                organisation_id=membership.organisation_id, consultation_id=None
            ),
            "procedures": archive.finished_procedures(membership.organisation_id),
        },
    )


@role_required("buyer")
@subscription_required("procurement")
@require_safe
def package_zip(request: HttpRequest, package_id: int) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    package = archive.package_of(organisation_id=membership.organisation_id, package_id=package_id)
    if package is None or package.file is None:
        raise Http404
    return serve_file(request, package.file, public=False)  # type: ignore[return-value]
