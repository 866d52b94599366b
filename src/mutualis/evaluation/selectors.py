"""Read-side of the analysis of offers, for the buyer's and evaluators' pages and the
report: called inside the request's ``scope(organisation=…)``, the organisation filter
stated anyway."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from mutualis.deposits.models import Deposit
from mutualis.procurement.models import Consultation

from . import scoring, services
from .models import Analysis, AnalysisCriterion, Offer, Score


def analyses_of(*, organisation_id: int, consultation_id: int) -> list[Analysis]:
    return list(
        Analysis.objects.filter(organisation_id=organisation_id, consultation_id=consultation_id)
        .select_related("lot")
        .order_by("lot__number", "pk")
    )


def analysis(*, organisation_id: int, analysis_id: int) -> Analysis | None:
    return (
        Analysis.objects.filter(organisation_id=organisation_id, pk=analysis_id)
        .select_related("consultation", "lot", "organisation")
        .first()
    )


def criteria_tree(analysis: Analysis) -> list[tuple[AnalysisCriterion, list[AnalysisCriterion]]]:
    """The criteria in order, each with its sub-criteria."""
    rows = list(
        AnalysisCriterion.objects.filter(
            organisation_id=analysis.organisation_id, analysis=analysis
        ).order_by("position", "pk")
    )
    subs: dict[int, list[AnalysisCriterion]] = {}
    for row in rows:
        if row.parent_id is not None:
            subs.setdefault(row.parent_id, []).append(row)
    return [(row, subs.get(row.pk, [])) for row in rows if row.parent_id is None]


def offers_of(analysis: Analysis) -> list[Offer]:
    return list(
        Offer.objects.filter(organisation_id=analysis.organisation_id, analysis=analysis)
        .select_related("deposit__company")
        .order_by("deposit__received_at", "pk")
    )


def late_deposits(analysis: Analysis) -> list[Deposit]:
    """The offers received late: eliminated, shown apart, never ranked."""
    consultation = Consultation.objects.get(
        organisation_id=analysis.organisation_id, pk=analysis.consultation_id
    )
    return [d for d in services.offer_deposits(consultation, analysis.lot_id) if d.late]


def scores_of(analysis: Analysis) -> list[Score]:
    return list(
        Score.objects.filter(organisation_id=analysis.organisation_id, offer__analysis=analysis)
        .select_related("evaluator", "criterion", "offer__deposit")
        .order_by("offer_id", "criterion__position", "criterion_id", "evaluator_id")
    )


def own_scores(analysis: Analysis, offer: Offer, user: Any) -> dict[int, Score]:
    return {
        s.criterion_id: s
        for s in Score.objects.filter(
            organisation_id=analysis.organisation_id, offer=offer, evaluator=user
        )
    }


@dataclasses.dataclass(frozen=True)
class RankedOffer:
    offer: Offer
    points: list[Decimal]  # per criterion, in the criteria's order
    total: Decimal
    rank: int
    ex_aequo: bool
    abnormally_low: bool


@dataclasses.dataclass(frozen=True)
class Ranking:
    criteria: list[AnalysisCriterion]
    offers: list[RankedOffer]
    ranked: list[scoring.Ranked]
    # What keeps the ranking from being computed: offers without a price, or without a
    # score on a scored (sub-)criterion (their references).
    missing: list[str]
    low_limit_explained: str


def ranking(analysis: Analysis) -> Ranking:
    """The weighted ranking of the analysis' offers, or what is missing for it."""
    tree = criteria_tree(analysis)
    criteria = [c for c, _subs in tree]
    offers = offers_of(analysis)
    leaves = services.scorable(analysis)
    by_offer: dict[int, dict[str, list[Decimal]]] = {o.pk: {} for o in offers}
    for score in Score.objects.filter(
        organisation_id=analysis.organisation_id, offer__analysis=analysis
    ):
        by_offer[score.offer_id].setdefault(str(score.criterion_id), []).append(score.value)
    missing = []
    for offer in offers:
        if offer.price is None or any(str(leaf) not in by_offer[offer.pk] for leaf in leaves):
            missing.append(offer.deposit.reference)
    explained = _low_rule_text(analysis)
    if missing or not offers:
        return Ranking(criteria, [], [], missing, explained)
    inputs = [
        scoring.OfferInput(key=str(o.pk), price=o.price or Decimal(0), scores=by_offer[o.pk])
        for o in offers
    ]
    ranked = scoring.rank(
        inputs,
        services.domain_criteria(analysis),
        scale=Decimal(analysis.scale),
        method=scoring.PriceMethod(analysis.price_method),
        low_rule=scoring.LowRule(analysis.low_rule),
        threshold=analysis.low_threshold,
    )
    offer_of = {str(o.pk): o for o in offers}
    return Ranking(
        criteria,
        [
            RankedOffer(
                offer=offer_of[r.key],
                points=[r.points[str(c.pk)] for c in criteria],
                total=r.total,
                rank=r.rank,
                ex_aequo=r.ex_aequo,
                abnormally_low=r.abnormally_low,
            )
            for r in ranked
        ],
        ranked,
        [],
        explained,
    )


def _low_rule_text(analysis: Analysis) -> str:
    from django.utils.translation import gettext

    if analysis.low_rule == scoring.LowRule.RATIO:
        return gettext(
            "An offer is flagged when its price is below %(threshold)s %% of the mean price of"
            " the other offers."
        ) % {"threshold": scoring.display(analysis.low_threshold).normalize()}
    return gettext(
        "An offer is flagged when its price is below the mean price of the offers minus one"
        " standard deviation."
    )


# --- For the award letters (contracts) ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CriterionPoints:
    label: str
    weight: Decimal  # the most points the criterion gives
    points: Decimal  # shown: two decimals, half up


@dataclasses.dataclass(frozen=True)
class CompanyScores:
    """One bidder's result in a closed analysis, as the award letters give it."""

    company_id: int
    company_name: str
    criteria: list[CriterionPoints]
    total: Decimal
    rank: int
    ex_aequo: bool


def final_scores(
    *, organisation_id: int, consultation_id: int, lot_id: int | None
) -> tuple[dict[int, CompanyScores], int] | None:
    """The final ranking of the consultation's (lot's) closed analysis, per company, and
    the number of offers ranked; None without a closed analysis or a complete ranking
    (the letters then give the typed reasons only)."""
    analyses = Analysis.objects.filter(
        organisation_id=organisation_id, consultation_id=consultation_id, state="closed"
    )
    found = (
        analyses.filter(lot__isnull=True) if lot_id is None else analyses.filter(lot_id=lot_id)
    ).first()
    if found is None:
        return None
    result = ranking(found)
    if result.missing or not result.offers:
        return None
    by_company: dict[int, CompanyScores] = {}
    for row in result.offers:
        company = row.offer.deposit.company
        by_company[company.pk] = CompanyScores(
            company_id=company.pk,
            company_name=company.name,
            criteria=[
                CriterionPoints(c.label, c.weight, scoring.display(points))
                for c, points in zip(result.criteria, row.points, strict=True)
            ],
            total=scoring.display(row.total),
            rank=row.rank,
            ex_aequo=row.ex_aequo,
        )
    return by_company, len(result.offers)
