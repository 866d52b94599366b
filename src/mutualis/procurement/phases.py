"""The offer phase of a two-phase procedure (restricted call for tenders, negotiated
procedure, competitive dialogue: ``vocabulary.TWO_PHASE``).

The published consultation takes applications until its deadline (the deadline for
applications). Once the buyer has opened them and decided which candidates it admits
(``deposits.admissions``), the offer phase opens: a consultation of its own, child of the
first (``Consultation.parent``), published at once and never public — the portal, its
feeds, the API and the member's page skip it (``crossings``), its page is its buyer's and
its invited companies' only —, with the deadline for offers as its deadline and the
admitted companies as its ``invited_companies``. Being a consultation, it has its own
opening key, its own deposit log (its Merkle tree published at its deadline), its own
register, opening and minutes, like any other: each phase is sealed and opened apart.

It repeats what the candidates need of the first (title, object, procedure, CPV codes,
lots, criteria); its documents are the first's, public, plus those the buyer adds to
it (the invitation to tender).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualis.core import audit

from . import transitions
from .errors import ProcurementError
from .models import AwardCriterion, Consultation, Lot, State
from .transitions import Event
from .vocabulary import TWO_PHASE

# The reference of the offer phase: the first's, and this.
SUFFIX = "-OFFRES"
QUESTIONS_BEFORE = timedelta(days=6)


class NotTwoPhase(ProcurementError):
    code = "consultation_not_two_phase"
    message = _(
        "Only a procedure in two phases (restricted, negotiated, dialogue) has an offer phase."
    )


class ApplicationsStillOpen(ProcurementError):
    code = "applications_still_open"
    message = _("The offer phase opens after the deadline for applications.")


class OfferPhaseExists(ProcurementError):
    code = "offer_phase_exists"
    message = _("The offer phase of this consultation is already open.")


class OffersDeadlineInPast(ProcurementError):
    code = "offers_deadline_in_past"
    field_name = "offers_deadline"
    message = _("The deadline for offers must be in the future.")


class NobodyInvited(ProcurementError):
    code = "nobody_invited"
    message = _("At least one candidate must be admitted to open the offer phase.")


def offer_phase_of(consultation: Consultation) -> Consultation | None:
    """The offer phase of a two-phase consultation, once open (inside its member's
    scope)."""
    return Consultation.objects.filter(parent=consultation).first()


def is_invited(consultation: Consultation, company_id: int) -> bool:
    return consultation.invited_companies.filter(pk=company_id).exists()


def published_child(
    parent: Consultation,
    *,
    reference: str,
    deadline: datetime,
    company_ids: list[int],
    now: datetime,
    round_number: int = 0,
    questions_before: timedelta = QUESTIONS_BEFORE,
) -> Consultation:
    """A consultation following ``parent`` in its procedure (its offer phase, or a
    negotiation round: ``round_number``), published at once and never public: what the
    companies need of the parent (title, object, procedure, CPV codes, the DECP facts,
    lots, criteria) repeated, ``deadline`` its response deadline, its questions closing
    ``questions_before`` it, ``company_ids`` its invited companies. Inside the caller's
    transaction and the buyer's scope; the caller audits it."""
    questions = max(now + timedelta(minutes=1), deadline - questions_before)
    if questions >= deadline:
        questions = deadline - timedelta(seconds=1)
    child = Consultation(
        organisation_id=parent.organisation_id,
        reference=reference,
        title=parent.title,
        object=parent.object,
        description=parent.description,
        procedure=parent.procedure,
        category=parent.category,
        contract_nature=parent.contract_nature,
        main_cpv=parent.main_cpv,
        additional_cpv=list(parent.additional_cpv),
        place_of_execution=parent.place_of_execution,
        estimated_value=parent.estimated_value,
        questions_deadline=questions,
        response_deadline=deadline,
        signature_required=parent.signature_required,
        contact=parent.contact,
        ccag=parent.ccag,
        techniques=list(parent.techniques),
        execution_modes=list(parent.execution_modes),
        price_types=list(parent.price_types),
        price_form=parent.price_form,
        social_considerations=list(parent.social_considerations),
        environmental_considerations=list(parent.environmental_considerations),
        innovative=parent.innovative,
        advance_payment=parent.advance_payment,
        duration_months=parent.duration_months,
        espd_selection=list(parent.espd_selection),
        negotiation_reserved=parent.negotiation_reserved,
        parent=parent,
        round=round_number,
        published_at=now,
    )
    transitions.apply(child, Event.PUBLISH)
    child.save()
    for lot in parent.lots.order_by("number"):
        Lot.objects.create(
            organisation_id=parent.organisation_id,
            consultation=child,
            number=lot.number,
            title=lot.title,
            description=lot.description,
            cpv_codes=list(lot.cpv_codes),
            estimated_value=lot.estimated_value,
        )
    for criterion in parent.criteria.order_by("position", "pk"):
        AwardCriterion.objects.create(
            organisation_id=parent.organisation_id,
            consultation=child,
            label=criterion.label,
            weight=criterion.weight,
            position=criterion.position,
        )
    child.invited_companies.set(company_ids)
    return child


def open_offer_phase(
    *,
    actor: Any,
    parent: Consultation,
    offers_deadline: datetime,
    company_ids: list[int],
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """Open the offer phase of ``parent`` for ``company_ids`` (inside the caller's
    transaction and the buyer's scope: ``deposits.admissions`` calls it when the buyer
    notifies its decisions, which are checked there)."""
    now = now or timezone.now()
    if parent.procedure not in TWO_PHASE or parent.parent_id is not None:
        raise NotTwoPhase()
    if parent.state not in (State.PUBLISHED, State.CLOSED) or now < parent.response_deadline:
        raise ApplicationsStillOpen()
    if Consultation.objects.filter(parent=parent).exists():
        raise OfferPhaseExists()
    if offers_deadline <= now:
        raise OffersDeadlineInPast()
    if not company_ids:
        raise NobodyInvited()
    phase = published_child(
        parent,
        reference=parent.reference[: 50 - len(SUFFIX)] + SUFFIX,
        deadline=offers_deadline,
        company_ids=company_ids,
        now=now,
    )
    audit.record(
        actor=actor,
        organisation=parent.organisation,
        action="consultation.offer_phase_opened",
        target=phase,
        payload={
            "state": phase.state,
            "parent": parent.pk,
            "offers_deadline": offers_deadline.isoformat(),
            "invited": len(company_ids),
        },
        **(request_context or {}),
    )
    return phase
