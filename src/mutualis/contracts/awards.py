"""Use cases of the award (E-procurement III, "Award and contract").

After the commission opened the offers (``deposits``: ``OpeningSession.completed_at``),
the buyer decides on each lot (or the whole consultation without lots): awarded to one
company whose offer was acknowledged and received on time, with the amount excluding
VAT; or unsuccessful or discontinued, with the reason. The decision is changed freely
while in draft; notifying it (``notify``) sends the letters — the award letter to the
winner, a rejection letter with the reasons to every other bidder of the lot, late ones
included, or the decision to every bidder — and starts the standstill period
(``standstill.py``). The buyer chooses the winner among the opened offers; when the
lot's analysis of the offers (``evaluation``) is closed, the letters give the scores
(``letters.py``).

A whole consultation declared unsuccessful or discontinued uses procurement's own
cancellation (its state, kind and published reason, ``procurement.services
.cancel_consultation``); ``notify_cancellation`` then records that decision here, from
the consultation's kind and reason (never typed twice), and sends it to every bidder.

Every step is one audit event on the buyer's chain; the company's first reading of a
letter is one on the company's chain. States change only through ``award_transitions``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription
from mutualis.deposits.models import Deposit, DepositState, OpeningSession, Phase
from mutualis.evaluation import selectors as evaluation_selectors
from mutualis.procurement import deadlines
from mutualis.procurement import rounds as procurement_rounds
from mutualis.procurement import selectors as procurement_selectors
from mutualis.procurement.models import Consultation, Lot, State

from . import actors, award_transitions, errors, letters, rules, signals, standstill
from .award_transitions import Event
from .models import Award, AwardLetter, AwardOutcome, AwardState

BUYER = "buyer"


def require_buyer(actor: Any) -> None:
    """A buyer of the member, or the member's API client (``actors.py``), of a member
    that subscribes to procurement."""
    if not actors.check_client(actor):
        require_role(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        require_subscription(actor.organisation_id, "procurement")


def departement_of(organisation: Any) -> str | None:
    """The buyer's département code, for its holidays (standstill.py): its
    département's, else the prefix of its INSEE code."""
    key = getattr(organisation, "source_key", "") or ""
    if key.startswith("departement:"):
        return key.split(":", 1)[1]
    code = getattr(organisation, "insee_code", "") or ""
    if code:
        return code[:3] if code.startswith("97") else code[:2]
    return None


def paris_today(now: datetime | None = None) -> Any:
    return deadlines.to_paris(now or timezone.now()).date()


# --- Reading ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LotOffers:
    lot: Lot | None
    on_time: list[Deposit]
    late: list[Deposit]
    award: Award | None

    @property
    def key(self) -> int:
        return self.lot.pk if self.lot is not None else 0


@dataclasses.dataclass(frozen=True)
class Overview:
    consultation: Consultation
    opened: bool
    lots: list[LotOffers]


def _opened(consultation_id: int) -> bool:
    return OpeningSession.objects.filter(
        consultation_id=consultation_id, completed_at__isnull=False
    ).exists()


def _offers(consultation_id: int) -> list[Deposit]:
    return list(
        Deposit.for_organisation.filter(
            consultation_id=consultation_id, phase=Phase.OFFER, state=DepositState.ACKNOWLEDGED
        )
        .select_related("company", "user")
        .order_by("company__name", "received_at", "pk")
    )


def _by_lot(offers: list[Deposit], lot_id: int | None) -> tuple[list[Deposit], list[Deposit]]:
    """The on-time offers of a lot, one per company (its last), and the late ones."""
    on_time: dict[int, Deposit] = {}
    late: dict[int, Deposit] = {}
    for offer in offers:
        if offer.lot_id != lot_id:
            continue
        (late if offer.late else on_time)[offer.company_id] = offer
    late = {k: v for k, v in late.items() if k not in on_time}
    return list(on_time.values()), list(late.values())


def _living_award(consultation_id: int, lot_id: int | None) -> Award | None:
    return (
        Award.objects.filter(consultation_id=consultation_id, lot=lot_id)
        .exclude(state=AwardState.ABANDONED)
        .select_related("company", "lot", "consultation__organisation")
        .first()
    )


def _consultation(organisation_id: int, consultation_id: int) -> Consultation:
    consultation = procurement_selectors.consultation(
        organisation_id=organisation_id, consultation_id=consultation_id
    )
    if consultation is None:
        raise errors.NotOpened()
    return consultation


def overview(*, organisation_id: int, consultation_id: int) -> Overview | None:
    """The buyer's view of a consultation's offers and decisions, per lot; None when
    the consultation is not the member's."""
    with scope(organisation=organisation_id):
        consultation = procurement_selectors.consultation(
            organisation_id=organisation_id, consultation_id=consultation_id
        )
        if consultation is None:
            return None
        offers = _offers(consultation.pk)
        lots: list[Lot | None] = list(consultation.lots.all()) or [None]
        rows = []
        for lot in lots:
            lot_id = lot.pk if lot is not None else None
            on_time, late = _by_lot(offers, lot_id)
            rows.append(LotOffers(lot, on_time, late, _living_award(consultation.pk, lot_id)))
        return Overview(consultation, _opened(consultation.pk), rows)


def award_of(*, organisation_id: int, award_id: int) -> Award | None:
    with scope(organisation=organisation_id):
        return (
            Award.objects.filter(organisation_id=organisation_id, pk=award_id)
            .select_related("company", "lot", "consultation__organisation", "offer")
            .first()
        )


def letters_of_award(*, organisation_id: int, award_id: int) -> list[AwardLetter]:
    with scope(organisation=organisation_id):
        return list(
            AwardLetter.for_organisation.filter(organisation_id=organisation_id, award_id=award_id)
            .select_related("company", "pdf")
            .order_by("kind", "company__name")
        )


# --- Deciding --------------------------------------------------------------------------


def _lot(consultation: Consultation, lot_id: int | None) -> Lot | None:
    lots = {lot.pk: lot for lot in consultation.lots.all()}
    if lot_id is None:
        if lots:
            raise errors.LotRequired()
        return None
    if lot_id not in lots:
        raise errors.LotUnknown()
    return lots[lot_id]


def _with_earlier_bidders(
    award: Award, on_time: list[Deposit], late: list[Deposit]
) -> tuple[list[Deposit], list[Deposit]]:
    """The bidders of a negotiation round's award, and those of the earlier links of the
    procedure's chain the rounds did not invite: every company that made an offer for
    the lot is told the decision (R2181-3), not only the round's."""
    if award.consultation.round < 1:
        return on_time, late
    earlier_ids = procurement_rounds.ancestor_ids(award.consultation_id)[1:]
    offers = Deposit.for_organisation.filter(
        consultation_id__in=earlier_ids, phase=Phase.OFFER, state=DepositState.ACKNOWLEDGED
    )
    offers = (
        offers.filter(lot__isnull=True)
        if award.lot is None
        else offers.filter(lot__number=award.lot.number)
    )
    told = {d.company_id for d in on_time} | {d.company_id for d in late}
    more_on_time: dict[int, Deposit] = {}
    more_late: dict[int, Deposit] = {}
    for offer in offers.select_related("company", "user").order_by("received_at", "pk"):
        if offer.company_id not in told:
            (more_late if offer.late else more_on_time)[offer.company_id] = offer
    more_late = {k: v for k, v in more_late.items() if k not in more_on_time}
    return on_time + list(more_on_time.values()), late + list(more_late.values())


def _require_last_round(consultation: Consultation) -> None:
    """The award falls on the offers of the last consultation of the procedure's chain:
    once a negotiation round follows (``procurement.rounds``), the earlier offers are
    superseded, and so is a decision drafted on them before the round opened."""
    if procurement_rounds.has_later(consultation):
        raise errors.LaterRoundExists()


@transaction.atomic(durable=True)
def decide(
    *,
    actor: Any,
    consultation_id: int,
    lot_id: int | None,
    outcome: str,
    company_id: int | None = None,
    amount: object = None,
    reasons: str = "",
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Award:
    """Record (or change, while in draft) the decision on a lot."""
    require_buyer(actor)
    now = now or timezone.now()
    if outcome not in AwardOutcome.values:
        raise errors.OutcomeInvalid()
    reasons = rules.text(reasons, required=True)
    price = rules.amount(amount) if outcome == AwardOutcome.AWARDED else None
    with scope(organisation=actor.organisation_id):
        consultation = _consultation(actor.organisation_id, consultation_id)
        if not _opened(consultation.pk):
            raise errors.NotOpened()
        _require_last_round(consultation)
        lot = _lot(consultation, lot_id)
        lot_id = lot.pk if lot is not None else None
        offer = None
        if outcome == AwardOutcome.AWARDED:
            on_time, _late = _by_lot(_offers(consultation.pk), lot_id)
            offer = next((o for o in on_time if o.company_id == company_id), None)
            if offer is None:
                raise errors.NotABidder()
        award = (
            Award.objects.select_for_update()
            .filter(consultation_id=consultation.pk, lot=lot_id)
            .exclude(state=AwardState.ABANDONED)
            .first()
        )
        new = award is None
        if award is None:
            award = Award(
                organisation_id=consultation.organisation_id,
                consultation=consultation,
                lot=lot,
            )
        elif award.state != AwardState.DRAFT:
            raise errors.AlreadyDecided()
        award_transitions.apply(award, Event.DECIDE, new=new)
        award.outcome = outcome
        award.company_id = offer.company_id if offer is not None else None
        award.offer = offer
        award.amount = price
        award.reasons = reasons
        award.decided_at = now
        award.decided_by = actor.user
        award.save()
        signals.send_on_commit(
            signals.award_changed,
            award_id=award.pk,
            organisation_id=award.organisation_id,
            consultation_id=award.consultation_id,
            action="contracts.award_decided",
        )
        audit.record(
            actor=actor,
            organisation=actor.organisation,
            action="contracts.award_decided",
            target=award,
            payload={
                "consultation": consultation.pk,
                "lot": lot_id,
                "outcome": outcome,
                "company": award.company_id,
                "amount": str(price) if price is not None else None,
            },
            **(context or {}),
        )
    return award


def _send(award: Award, *, on_time: list[Deposit], late: list[Deposit], now: datetime) -> None:
    """Notify ``award`` (locked, in draft) to every bidder: letters, e-mails, the
    standstill period."""
    award_transitions.apply(award, Event.NOTIFY)
    award.notified_at = now
    award.bidders = len(on_time) + len(late)
    if award.outcome == AwardOutcome.AWARDED and standstill.applies(
        award.consultation.procedure, bidders=len(on_time)
    ):
        award.standstill_ends_on = standstill.period_end(
            paris_today(now), departement=departement_of(award.consultation.organisation)
        )
    else:
        award.standstill_ends_on = None
    award.save(
        update_fields=["state", "notified_at", "bidders", "standstill_ends_on", "updated_at"]
    )
    bidders = [(o, False) for o in on_time] + [(o, True) for o in late]
    scores = (
        evaluation_selectors.final_scores(
            organisation_id=award.organisation_id,
            consultation_id=award.consultation_id,
            lot_id=award.lot_id,
        )
        if award.outcome == AwardOutcome.AWARDED
        else None
    )
    for offer, is_late in bidders:
        letter = letters.make_letter(award, offer.company, late=is_late, scores=scores)
        depositor = offer.user.email if offer.user is not None else None
        letters.mail_letter(letter, award, offer.company, depositor)


@transaction.atomic(durable=True)
def notify(
    *,
    actor: Any,
    award_id: int,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Award:
    """Send the letters of a decision in draft and start the standstill period."""
    require_buyer(actor)
    now = now or timezone.now()
    with scope(organisation=actor.organisation_id):
        award = (
            Award.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, pk=award_id)
            .first()
        )
        if award is None:
            raise errors.NoDecision()
        if award.state != AwardState.DRAFT:
            raise errors.AlreadyDecided()
        _require_last_round(award.consultation)
        on_time, late = _by_lot(_offers(award.consultation_id), award.lot_id)
        on_time, late = _with_earlier_bidders(award, on_time, late)
        _send(award, on_time=on_time, late=late, now=now)
        signals.send_on_commit(
            signals.award_changed,
            award_id=award.pk,
            organisation_id=award.organisation_id,
            consultation_id=award.consultation_id,
            action="contracts.award_notified",
        )
        audit.record(
            actor=actor,
            organisation=actor.organisation,
            action="contracts.award_notified",
            target=award,
            payload={
                "consultation": award.consultation_id,
                "lot": award.lot_id,
                "outcome": award.outcome,
                "letters": len(on_time) + len(late),
                "standstill_ends_on": award.standstill_ends_on.isoformat()
                if award.standstill_ends_on
                else None,
            },
            **(context or {}),
        )
    return award


@transaction.atomic(durable=True)
def notify_cancellation(
    *,
    actor: Any,
    consultation_id: int,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Award:
    """Send a consultation's cancellation (unsuccessful or discontinued, declared
    through procurement) to every company that deposited an offer, once."""
    require_buyer(actor)
    now = now or timezone.now()
    with scope(organisation=actor.organisation_id):
        consultation = (
            Consultation.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, pk=consultation_id)
            .first()
        )
        if consultation is None or consultation.state != State.CANCELLED:
            raise errors.NotCancelled()
        if consultation.cancellation_kind not in (
            AwardOutcome.UNSUCCESSFUL,
            AwardOutcome.DISCONTINUED,
        ):
            raise errors.NotCancelled()
        if _living_award(consultation.pk, None) is not None:
            raise errors.AlreadyDecided()
        award = Award(
            organisation_id=consultation.organisation_id,
            consultation=consultation,
            lot=None,
            outcome=consultation.cancellation_kind,
            reasons=consultation.cancellation_reason,
            decided_at=consultation.cancelled_at or now,
            decided_by=actor.user,
        )
        award_transitions.apply(award, Event.DECIDE, new=True)
        award.save()
        # Every bidder, whatever its lot: the whole procedure ends.
        companies: dict[int, Deposit] = {}
        late: dict[int, Deposit] = {}
        for offer in _offers(consultation.pk):
            (late if offer.late else companies).setdefault(offer.company_id, offer)
        late = {k: v for k, v in late.items() if k not in companies}
        _send(award, on_time=list(companies.values()), late=list(late.values()), now=now)
        signals.send_on_commit(
            signals.award_changed,
            award_id=award.pk,
            organisation_id=award.organisation_id,
            consultation_id=award.consultation_id,
            action="contracts.cancellation_notified",
        )
        audit.record(
            actor=actor,
            organisation=actor.organisation,
            action="contracts.cancellation_notified",
            target=award,
            payload={
                "consultation": consultation.pk,
                "outcome": award.outcome,
                "letters": len(companies) + len(late),
            },
            **(context or {}),
        )
    return award


@transaction.atomic(durable=True)
def abandon(
    *,
    actor: Any,
    award_id: int,
    reason: str,
    context: dict[str, Any] | None = None,
) -> Award:
    """Give up an award before its contract is signed (the buyer may decide again)."""
    require_buyer(actor)
    try:
        reason = rules.text(reason, required=True)
    except errors.ReasonsRequired:
        raise errors.ReasonRequired() from None
    with scope(organisation=actor.organisation_id):
        award = (
            Award.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, pk=award_id)
            .first()
        )
        if award is None:
            raise errors.NoDecision()
        award_transitions.apply(award, Event.ABANDON)
        award.abandoned_reason = reason
        award.save(update_fields=["state", "abandoned_reason", "updated_at"])
        signals.send_on_commit(
            signals.award_changed,
            award_id=award.pk,
            organisation_id=award.organisation_id,
            consultation_id=award.consultation_id,
            action="contracts.award_abandoned",
        )
        audit.record(
            actor=actor,
            organisation=actor.organisation,
            action="contracts.award_abandoned",
            target=award,
            payload={"consultation": award.consultation_id, "lot": award.lot_id},
            **(context or {}),
        )
    return award


def end_standstill_if_over(
    award: Award, *, actor: Any, today: Any, context: dict[str, Any]
) -> None:
    """Inside the caller's transaction (award locked): record that the standstill
    period is over once ``today`` is past its last day (or at once without one)."""
    if award.state != AwardState.NOTIFIED or award.outcome != AwardOutcome.AWARDED:
        return
    if not standstill.over(award.standstill_ends_on, today=today):
        return
    award_transitions.apply(award, Event.END_STANDSTILL)
    award.save(update_fields=["state", "updated_at"])
    signals.send_on_commit(
        signals.award_changed,
        award_id=award.pk,
        organisation_id=award.organisation_id,
        consultation_id=award.consultation_id,
        action="contracts.standstill_ended",
    )
    audit.record(
        actor=actor,
        organisation=actor.organisation,
        action="contracts.standstill_ended",
        target=award,
        payload={
            "standstill_ends_on": award.standstill_ends_on.isoformat()
            if award.standstill_ends_on
            else None
        },
        **context,
    )


# --- The company's side ----------------------------------------------------------------


def letters_of_company(*, company_id: int) -> list[AwardLetter]:
    with scope(company=company_id):
        return list(
            AwardLetter.for_company.filter(company_id=company_id)
            .select_related("award__consultation__organisation", "award__lot", "pdf")
            .order_by("-sent_at", "-pk")
        )


@transaction.atomic(durable=True)
def read_letter(
    *, representative: Any, letter_id: int, now: datetime | None = None
) -> AwardLetter | None:
    """The company's letter (None: not its own); its first reading is recorded on the
    company's chain."""
    company_id = representative.company_id
    with scope(company=company_id):
        letter = (
            AwardLetter.for_company.select_for_update()
            .filter(company_id=company_id, pk=letter_id)
            .first()
        )
        if letter is None:
            return None
        if letter.read_at is None:
            letter.read_at = now or timezone.now()
            letter.save(update_fields=["read_at"])
            audit.record(
                actor=representative,
                action="contracts.letter_read",
                chain=audit.company_chain(company_id),
                target=letter,
                payload={"award": letter.award_id, "kind": letter.kind},
            )
        return AwardLetter.for_company.filter(pk=letter.pk).select_related("pdf").get()
