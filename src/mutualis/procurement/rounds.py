"""Negotiation rounds (docs/adr/0009-evaluation.md, "Negotiation rounds").

Where the procedure allows it (``vocabulary.allows_negotiation``: the negotiated
procedure, the competitive dialogue, an adapted procedure whose consultation reserves
it), the buyer may, once the offers of a consultation are analysed, invite some of its
bidders to improve them. A round is a consultation of its own, as the offer phase is
(``phases.py``): the child of the consultation whose offers it negotiates (the first
consultation of an adapted procedure, the offer phase, or the round before), published
at once and never public, with the round's deadline as its deadline and the bidders the
buyer keeps as its ``invited_companies``. It has its own opening key (drawn from the same
commission: ``deposits.keys``), log, register, opening and analysis.

``Consultation.parent`` is one-to-one, so the consultations of a procedure form a chain:
first consultation → offer phase → round 1 → round 2. The helpers below walk it; the
award falls on its last link (``contracts.awards``), the open data folds it into the root
(``ocds``, ``decp``).

``open_round`` writes the round inside the caller's transaction and the buyer's scope:
``evaluation.negotiation`` calls it once it checked the analysis is closed and whom it
may invite, and sends the invitations through the secure messaging.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualis.core import audit

from . import phases
from .errors import ProcurementError
from .models import Consultation, State
from .vocabulary import allows_negotiation

QUESTIONS_BEFORE = timedelta(days=2)
# A chain is a handful of links; the walks stop there whatever the rows say.
MAX_CHAIN = 100
MAX_REFERENCE = 50


class NegotiationNotAllowed(ProcurementError):
    code = "negotiation_not_allowed"
    message = _(
        "This procedure does not allow negotiation: only the negotiated procedure, the"
        " competitive dialogue and an adapted procedure whose consultation reserves the"
        " possibility to negotiate do. Calls for tenders never negotiate."
    )


class NegotiateOffers(ProcurementError):
    code = "negotiation_on_applications"
    message = _("This consultation receives applications: negotiate the offers of its offer phase.")


class NotNegotiable(ProcurementError):
    code = "consultation_not_negotiable"
    message = _("The offers of this consultation can be negotiated once its deadline has passed.")


class LaterRoundExists(ProcurementError):
    code = "later_round_exists"
    message = _(
        "A later consultation of this procedure already exists: negotiate the offers of the"
        " last one."
    )


class RoundDeadlineInPast(ProcurementError):
    code = "round_deadline_in_past"
    field_name = "deadline"
    message = _("The deadline of the round must be in the future.")


class RoundDeadlineInvalid(ProcurementError):
    code = "round_deadline_invalid"
    field_name = "deadline"
    message = _("Give the deadline of the round as a date and a time, Paris time.")


class NobodyToNegotiateWith(ProcurementError):
    code = "round_nobody_invited"
    field_name = "companies"
    message = _("Choose at least one bidder to invite to the round.")


# --- The chain ------------------------------------------------------------------------------


def root_of(consultation: Consultation) -> Consultation:
    """The first consultation of the procedure (inside its member's scope)."""
    current = consultation
    for _step in range(MAX_CHAIN):
        if current.parent_id is None:
            return current
        current = Consultation.objects.get(pk=current.parent_id)
    return current


def chain_of(consultation: Consultation) -> list[Consultation]:
    """Every consultation of the procedure of ``consultation``, first to last (inside its
    member's scope)."""
    chain = [root_of(consultation)]
    for _step in range(MAX_CHAIN):
        child = Consultation.objects.filter(parent_id=chain[-1].pk).first()
        if child is None:
            break
        chain.append(child)
    return chain


def ancestor_ids(consultation_id: int) -> list[int]:
    """The consultation's id then its parents', up to the first (inside its member's
    scope)."""
    ids = [consultation_id]
    for _step in range(MAX_CHAIN):
        parent_id = (
            Consultation.objects.filter(pk=ids[-1]).values_list("parent_id", flat=True).first()
        )
        if parent_id is None:
            break
        ids.append(parent_id)
    return ids


def has_later(consultation: Consultation) -> bool:
    """Whether a round negotiates the offers of ``consultation``: its own offers are no
    longer the last."""
    return Consultation.objects.filter(parent_id=consultation.pk, round__gte=1).exists()


def may_negotiate(consultation: Consultation) -> bool:
    return allows_negotiation(
        consultation.procedure, negotiation_reserved=consultation.negotiation_reserved
    )


def check_negotiable(consultation: Consultation, *, now: datetime) -> None:
    """Refuse, with the reason, a round on the offers of ``consultation``."""
    if consultation.is_test or not may_negotiate(consultation):
        raise NegotiationNotAllowed()
    if consultation.takes_applications:
        raise NegotiateOffers()
    if consultation.state not in (State.PUBLISHED, State.CLOSED):
        raise NotNegotiable()
    if now < consultation.response_deadline:
        raise NotNegotiable()
    if Consultation.objects.filter(parent_id=consultation.pk).exists():
        raise LaterRoundExists()


# --- Opening a round ------------------------------------------------------------------------


def reference_of(parent: Consultation, number: int) -> str:
    """The round's reference: the first consultation's, and ``-N<number>``."""
    suffix = f"-N{number}"
    base = root_of(parent).reference
    reference = base[: MAX_REFERENCE - len(suffix)] + suffix
    taken = Consultation.objects.filter(
        organisation_id=parent.organisation_id, reference=reference
    ).exists()
    if taken:  # a consultation the buyer named so: the parent's id tells them apart
        suffix = f"-N{number}-{parent.pk}"
        reference = base[: MAX_REFERENCE - len(suffix)] + suffix
    return reference


def open_round(
    *,
    actor: Any,
    parent: Consultation,
    deadline: datetime,
    company_ids: list[int],
    message: str = "",
    now: datetime | None = None,
    request_context: dict[str, Any] | None = None,
) -> Consultation:
    """Open the next negotiation round on the offers of ``parent`` (locked by the
    caller) for ``company_ids``, with ``deadline`` for the improved offers. Inside the
    caller's transaction and the buyer's scope; which companies may be invited is the
    caller's check (the bidders of the closed analysis)."""
    now = now or timezone.now()
    check_negotiable(parent, now=now)
    if deadline <= now:
        raise RoundDeadlineInPast()
    if not company_ids:
        raise NobodyToNegotiateWith()
    number = parent.round + 1
    negotiated = phases.published_child(
        parent,
        reference=reference_of(parent, number),
        deadline=deadline,
        company_ids=company_ids,
        now=now,
        round_number=number,
        questions_before=QUESTIONS_BEFORE,
    )
    audit.record(
        actor=actor,
        organisation=parent.organisation,
        action="consultation.round_opened",
        target=negotiated,
        payload={
            "state": negotiated.state,
            "parent": parent.pk,
            "round": number,
            "deadline": deadline.isoformat(),
            "invited": sorted(company_ids),
            "message": bool(message),
        },
        **(request_context or {}),
    )
    return negotiated
