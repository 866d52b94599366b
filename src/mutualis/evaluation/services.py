"""Use cases of the analysis of offers (issue 15, "Commission and analysis").

Once the opening of a consultation is complete (``deposits.OpeningSession.completed_at``),
a buyer starts its analysis (per lot when it has lots): the consultation's award criteria
are copied, the offers are the acknowledged, on-time offer deposits (late ones are
eliminated, never ranked; withdrawn or replaced ones are not offers). While it is being
prepared, the buyer splits criteria into sub-criteria, chooses the price formula, the
score scale and the abnormally-low rule, and enters each offer's price from the opened
documents. Then evaluators (the ``evaluator`` role, commission members, buyers) score each
offer on each scored (sub-)criterion with a comment; the price criterion is computed.
Closing fixes the ranking.

Each use case checks the actor's role and the procurement subscription, runs in one
transaction and appends one event to the buyer's audit chain; the state changes only
through ``transitions``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from mutualis.core import audit
from mutualis.core.permissions import require_role
from mutualis.core.subscriptions import require_subscription
from mutualis.deposits.models import Deposit, DepositState, OpeningSession, Phase
from mutualis.procurement.models import Consultation, Lot

from . import errors, scoring, transitions
from .models import (
    MAX_COMMENT,
    MAX_LABEL,
    Analysis,
    AnalysisCriterion,
    AnalysisState,
    LowRule,
    Offer,
    PriceMethod,
    Score,
)
from .transitions import Event

BUYER = "buyer"
EVALUATOR = "evaluator"
COMMISSION_MEMBER = "commission_member"
# Who reads an analysis and scores offers; only buyers prepare and close it.
READERS = (BUYER, EVALUATOR, COMMISSION_MEMBER)

MAX_PRICE = Decimal("999999999999.99")  # 14 digits, 2 decimals: the column's range
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A price criterion is recognised by its label when copied; the buyer can change it.
_PRICE_LABEL = re.compile(r"\b(prix|price|co[uû]t|cost)\b", re.IGNORECASE)


# --- Input ----------------------------------------------------------------------------------


def decimal_of(
    text: Any, error: type[errors.EvaluationError], *, places: int = 2, maximum: Decimal
) -> Decimal:
    """``text`` (French "1 234,5" or "1234.5") as a ``Decimal`` between 0 and ``maximum``
    with at most ``places`` decimals, else ``error``."""
    if isinstance(text, Decimal):
        value = text
    else:
        cleaned = str(text or "").strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if not cleaned or len(cleaned) > 30 or not re.fullmatch(r"\d+(\.\d+)?", cleaned):
            raise error()
        try:
            value = Decimal(cleaned)
        except InvalidOperation as exc:
            raise error() from exc
    if not value.is_finite() or value < 0 or value > maximum:
        raise error()
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -places
        and value != value.quantize(Decimal(1).scaleb(-places))
    ):
        raise error()
    return value.quantize(Decimal(1).scaleb(-places))


def _text(text: Any, error: type[errors.EvaluationError], maximum: int, *, required: bool) -> str:
    value = str(text or "").strip()
    if len(value) > maximum or _CONTROL.search(value) or (required and not value):
        raise error()
    return value


# --- Guards ---------------------------------------------------------------------------------


def require(actor: Any, *roles: str) -> None:
    """The guard of every use case of this context (``negotiation`` too): ``actor``
    holds one of ``roles`` and its organisation subscribes to procurement."""
    require_role(actor, *roles)
    with scope(organisation=actor.organisation_id):
        require_subscription(actor.organisation_id, "procurement")


def _analysis(actor: Any, analysis_id: int, *, lock: bool = True) -> Analysis:
    queryset = Analysis.objects.filter(organisation_id=actor.organisation_id, pk=analysis_id)
    if lock:
        queryset = queryset.select_for_update()
    analysis = queryset.first()
    if analysis is None:
        raise errors.NotFound()
    return analysis


def _record(
    actor: Any, action: str, analysis: Analysis, context: dict[str, Any] | None, **payload: Any
) -> None:
    audit.record(
        actor=actor,
        organisation=actor.organisation,
        action=f"evaluation.{action}",
        target=analysis,
        payload={"consultation": analysis.consultation_id, "lot": analysis.lot_id, **payload},
        **(context or {}),
    )


def _draft(analysis: Analysis) -> None:
    if analysis.state != AnalysisState.DRAFT:
        raise errors.NotInDraft()


# --- Starting -------------------------------------------------------------------------------


def opening_complete(consultation: Consultation) -> bool:
    return OpeningSession.objects.filter(
        organisation_id=consultation.organisation_id,
        consultation_id=consultation.pk,
        completed_at__isnull=False,
    ).exists()


def offer_deposits(consultation: Consultation, lot_id: int | None) -> Any:
    """The acknowledged offer deposits of the consultation (of the lot), on time first."""
    queryset = Deposit.for_organisation.filter(
        organisation_id=consultation.organisation_id,
        consultation_id=consultation.pk,
        phase=Phase.OFFER,
        state=DepositState.ACKNOWLEDGED,
    )
    if lot_id is not None:
        queryset = queryset.filter(lot_id=lot_id)
    return queryset.select_related("company").order_by("late", "received_at", "pk")


@transaction.atomic(durable=True)
def open_analysis(
    *,
    actor: Any,
    consultation_id: int,
    lot_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> Analysis:
    """Start the analysis of the consultation's offers (of one lot), in preparation."""
    require(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        consultation = (
            Consultation.objects.select_for_update()
            .filter(organisation_id=actor.organisation_id, pk=consultation_id)
            .first()
        )
        if consultation is None:
            raise errors.NotFound()
        if consultation.takes_applications:
            raise errors.NoOffers()
        if not opening_complete(consultation):
            raise errors.NotOpened()
        lots = list(Lot.objects.filter(consultation=consultation).values_list("pk", flat=True))
        if lots and lot_id not in lots:
            raise errors.LotRequired()
        if not lots and lot_id is not None:
            raise errors.NotFound()
        existing = Analysis.objects.filter(
            organisation_id=actor.organisation_id, consultation=consultation
        )
        existing = (
            existing.filter(lot__isnull=True) if lot_id is None else existing.filter(lot=lot_id)
        )
        if existing.exists():
            raise errors.AnalysisExists()
        analysis = Analysis.objects.create(
            organisation_id=actor.organisation_id,
            consultation=consultation,
            lot_id=lot_id,
            created_by=actor.user,
        )
        has_price = False
        for criterion in consultation.criteria.order_by("position", "pk"):
            is_price = not has_price and bool(_PRICE_LABEL.search(criterion.label))
            has_price = has_price or is_price
            AnalysisCriterion.objects.create(
                organisation_id=actor.organisation_id,
                analysis=analysis,
                label=criterion.label,
                weight=Decimal(criterion.weight),
                is_price=is_price,
                position=criterion.position,
            )
        _prefill_from_negotiated(analysis, consultation, lot_id)
        offers = [d for d in offer_deposits(consultation, lot_id) if not d.late]
        for deposit in offers:
            Offer.objects.create(
                organisation_id=actor.organisation_id, analysis=analysis, deposit=deposit
            )
        _record(actor, "analysis_opened", analysis, context, offers=[d.pk for d in offers])
    return analysis


def _prefill_from_negotiated(
    analysis: Analysis, consultation: Consultation, lot_id: int | None
) -> None:
    """A negotiation round's analysis starts as the analysis of the offers it negotiates
    ended: the same settings, price criterion and sub-criteria (the criteria themselves
    are the round's, copied from the negotiated consultation). The buyer may still
    change them before scoring starts."""
    if consultation.round < 1 or consultation.parent_id is None:
        return
    earlier = Analysis.objects.filter(
        organisation_id=analysis.organisation_id, consultation_id=consultation.parent_id
    )
    if lot_id is None:
        earlier = earlier.filter(lot__isnull=True)
    else:
        number = Lot.objects.filter(pk=lot_id).values_list("number", flat=True).first()
        earlier = earlier.filter(lot__number=number or 0)
    previous = earlier.first()
    if previous is None:
        return
    analysis.price_method = previous.price_method
    analysis.scale = previous.scale
    analysis.low_rule = previous.low_rule
    analysis.low_threshold = previous.low_threshold
    analysis.save(update_fields=["price_method", "scale", "low_rule", "low_threshold"])
    rows = list(
        AnalysisCriterion.objects.filter(
            organisation_id=analysis.organisation_id, analysis=previous
        ).order_by("position", "pk")
    )
    own = {
        (c.position, c.label): c
        for c in AnalysisCriterion.objects.filter(
            organisation_id=analysis.organisation_id, analysis=analysis, parent__isnull=True
        )
    }
    by_pk = {row.pk: row for row in rows}
    for row in rows:
        if row.parent_id is None:
            target = own.get((row.position, row.label))
            if target is not None and target.is_price != row.is_price:
                AnalysisCriterion.objects.filter(pk=target.pk).update(is_price=row.is_price)
            continue
        parent = by_pk[row.parent_id]
        target = own.get((parent.position, parent.label))
        if target is None:
            continue
        AnalysisCriterion.objects.create(
            organisation_id=analysis.organisation_id,
            analysis=analysis,
            parent=target,
            label=row.label,
            weight=row.weight,
            position=row.position,
        )


# --- Preparing ------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def configure(
    *,
    actor: Any,
    analysis_id: int,
    price_method: str,
    scale: Any,
    low_rule: str,
    low_threshold: Any,
    price_criterion_id: int | None,
    context: dict[str, Any] | None = None,
) -> Analysis:
    """Choose the price formula, the score scale, the abnormally-low rule and which
    criterion is the price (None: none is)."""
    require(actor, BUYER)
    if price_method not in PriceMethod.values or low_rule not in LowRule.values:
        raise errors.SettingsInvalid()
    scale_value = decimal_of(scale, errors.SettingsInvalid, places=0, maximum=Decimal(100))
    threshold = decimal_of(low_threshold, errors.SettingsInvalid, maximum=Decimal(100))
    if scale_value < 1 or threshold < 1:
        raise errors.SettingsInvalid()
    with scope(organisation=actor.organisation_id):
        analysis = _analysis(actor, analysis_id)
        _draft(analysis)
        criteria = AnalysisCriterion.objects.filter(
            organisation_id=actor.organisation_id, analysis=analysis, parent__isnull=True
        )
        if price_criterion_id is not None:
            chosen = criteria.filter(pk=price_criterion_id).first()
            if chosen is None or chosen.subcriteria.exists():
                raise errors.SettingsInvalid()
        criteria.update(is_price=False)
        if price_criterion_id is not None:
            criteria.filter(pk=price_criterion_id).update(is_price=True)
        analysis.price_method = price_method
        analysis.scale = int(scale_value)
        analysis.low_rule = low_rule
        analysis.low_threshold = threshold
        analysis.save(update_fields=["price_method", "scale", "low_rule", "low_threshold"])
        _record(
            actor,
            "analysis_configured",
            analysis,
            context,
            price_method=price_method,
            scale=analysis.scale,
            low_rule=low_rule,
            low_threshold=str(threshold),
            price_criterion=price_criterion_id,
        )
    return analysis


@transaction.atomic(durable=True)
def add_subcriterion(
    *,
    actor: Any,
    analysis_id: int,
    parent_id: int,
    label: str,
    weight: Any,
    context: dict[str, Any] | None = None,
) -> AnalysisCriterion:
    """Add a sub-criterion under a (non-price) criterion, before scoring starts; their
    weights must add up to the criterion's when scoring starts."""
    require(actor, BUYER)
    label = _text(label, errors.LabelInvalid, MAX_LABEL, required=True)
    weight_value = decimal_of(weight, errors.WeightInvalid, maximum=Decimal(100))
    if weight_value <= 0:
        raise errors.WeightInvalid()
    with scope(organisation=actor.organisation_id):
        analysis = _analysis(actor, analysis_id)
        _draft(analysis)
        parent = AnalysisCriterion.objects.filter(
            organisation_id=actor.organisation_id,
            analysis=analysis,
            pk=parent_id,
            parent__isnull=True,
            is_price=False,
        ).first()
        if parent is None:
            raise errors.ParentInvalid()
        position = parent.subcriteria.count()
        sub = AnalysisCriterion.objects.create(
            organisation_id=actor.organisation_id,
            analysis=analysis,
            parent=parent,
            label=label,
            weight=weight_value,
            position=position,
        )
        _record(
            actor,
            "subcriterion_added",
            analysis,
            context,
            criterion=sub.pk,
            parent=parent.pk,
            weight=str(weight_value),
        )
    return sub


@transaction.atomic(durable=True)
def remove_subcriterion(
    *, actor: Any, analysis_id: int, criterion_id: int, context: dict[str, Any] | None = None
) -> None:
    require(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        analysis = _analysis(actor, analysis_id)
        _draft(analysis)
        sub = AnalysisCriterion.objects.filter(
            organisation_id=actor.organisation_id,
            analysis=analysis,
            pk=criterion_id,
            parent__isnull=False,
        ).first()
        if sub is None:
            raise errors.NotFound()
        sub.delete()
        _record(actor, "subcriterion_removed", analysis, context, criterion=criterion_id)


@transaction.atomic(durable=True)
def set_price(
    *,
    actor: Any,
    analysis_id: int,
    offer_id: int,
    price: Any,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Offer:
    """Enter (or correct, until closed) an offer's price excluding VAT, read from its
    opened documents."""
    require(actor, BUYER)
    value = decimal_of(price, errors.PriceInvalid, maximum=MAX_PRICE)
    if value <= 0:
        raise errors.PriceInvalid()
    with scope(organisation=actor.organisation_id):
        analysis = _analysis(actor, analysis_id)
        if analysis.state == AnalysisState.CLOSED:
            raise errors.AnalysisClosed()
        offer = Offer.objects.filter(
            organisation_id=actor.organisation_id, analysis=analysis, pk=offer_id
        ).first()
        if offer is None:
            raise errors.NotFound()
        before = offer.price
        offer.price = value
        offer.price_entered_at = now or timezone.now()
        offer.price_entered_by = actor.user
        offer.save(update_fields=["price", "price_entered_at", "price_entered_by"])
        _record(
            actor,
            "price_entered",
            analysis,
            context,
            offer=offer.pk,
            deposit=offer.deposit_id,
            price=str(value),
            before=None if before is None else str(before),
        )
    return offer


def domain_criteria(analysis: Analysis) -> list[scoring.Criterion]:
    """The analysis' criteria as ``scoring`` sees them (keys are the row ids)."""
    rows = list(
        AnalysisCriterion.objects.filter(
            organisation_id=analysis.organisation_id, analysis=analysis
        ).order_by("position", "pk")
    )
    subs: dict[int, list[AnalysisCriterion]] = {}
    for row in rows:
        if row.parent_id is not None:
            subs.setdefault(row.parent_id, []).append(row)
    return [
        scoring.Criterion(
            key=str(row.pk),
            weight=row.weight,
            is_price=row.is_price,
            subcriteria=tuple(
                scoring.SubCriterion(str(s.pk), s.weight) for s in subs.get(row.pk, [])
            ),
        )
        for row in rows
        if row.parent_id is None
    ]


@transaction.atomic(durable=True)
def start_scoring(
    *, actor: Any, analysis_id: int, context: dict[str, Any] | None = None
) -> Analysis:
    """Fix the criteria and settings; evaluators may score."""
    require(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        analysis = _analysis(actor, analysis_id)
        try:
            scoring.check_weights(domain_criteria(analysis))
        except scoring.WeightsError as exc:
            raise errors.WeightsDoNotAddUp() from exc
        transitions.apply(analysis, Event.START_SCORING)
        analysis.save(update_fields=["state"])
        _record(actor, "scoring_started", analysis, context)
    return analysis


# --- Scoring --------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def score_offer(
    *,
    actor: Any,
    analysis_id: int,
    offer_id: int,
    scores: Mapping[int, tuple[Any, Any]],
    context: dict[str, Any] | None = None,
) -> list[Score]:
    """Record the acting evaluator's scores and comments on one offer: ``scores`` maps a
    scored (sub-)criterion's id to (score, comment); an empty score leaves it unscored."""
    require(actor, *READERS)
    with scope(organisation=actor.organisation_id):
        analysis = _analysis(actor, analysis_id)
        if analysis.state != AnalysisState.SCORING:
            raise errors.NotScoring()
        scale = Decimal(analysis.scale)
        offer = Offer.objects.filter(
            organisation_id=actor.organisation_id, analysis=analysis, pk=offer_id
        ).first()
        if offer is None:
            raise errors.NotFound()
        leaves = scorable(analysis)
        cleaned: dict[int, tuple[Decimal, str]] = {}
        for criterion_id, (value, comment) in scores.items():
            if criterion_id not in leaves:
                raise errors.NotScorable()
            text = _text(comment, errors.CommentInvalid, MAX_COMMENT, required=False)
            if str(value or "").strip() == "" and not isinstance(value, Decimal):
                continue
            number = decimal_of(value, errors.ScoreInvalid, maximum=scale)
            cleaned[criterion_id] = (number, text)
        saved = []
        for criterion_id, (number, text) in cleaned.items():
            score, _created = Score.objects.update_or_create(
                organisation_id=actor.organisation_id,
                offer=offer,
                criterion_id=criterion_id,
                evaluator=actor.user,
                defaults={"value": number, "comment": text},
            )
            saved.append(score)
        _record(
            actor,
            "offer_scored",
            analysis,
            context,
            offer=offer.pk,
            scores={str(k): str(v) for k, (v, _t) in sorted(cleaned.items())},
        )
    return saved


def scorable(analysis: Analysis) -> dict[int, AnalysisCriterion]:
    """The (sub-)criteria evaluators score: non-price criteria without sub-criteria, and
    sub-criteria."""
    rows = list(
        AnalysisCriterion.objects.filter(
            organisation_id=analysis.organisation_id, analysis=analysis
        ).order_by("position", "pk")
    )
    parents = {r.parent_id for r in rows if r.parent_id is not None}
    return {
        r.pk: r for r in rows if not r.is_price and (r.parent_id is not None or r.pk not in parents)
    }


@transaction.atomic(durable=True)
def close_analysis(
    *,
    actor: Any,
    analysis_id: int,
    now: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> Analysis:
    """Close the analysis: every offer priced and scored; the ranking is final."""
    from . import selectors

    require(actor, BUYER)
    with scope(organisation=actor.organisation_id):
        analysis = _analysis(actor, analysis_id)
        transitions.apply(analysis, Event.CLOSE)
        result = selectors.ranking(analysis)
        if result.missing:
            raise errors.Incomplete()
        analysis.closed_at = now or timezone.now()
        analysis.save(update_fields=["state", "closed_at"])
        _record(
            actor,
            "analysis_closed",
            analysis,
            context,
            ranking=[
                {"offer": int(r.key), "rank": r.rank, "total": str(scoring.display(r.total))}
                for r in result.ranked
            ],
        )
    return analysis
