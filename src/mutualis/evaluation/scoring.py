"""The arithmetic of the analysis of offers, without Django (docs/adr/0009-evaluation.md).

Criteria carry weights in points out of 100; a criterion's sub-criteria share its weight.
A non-price (sub-)criterion is scored by each evaluator on the analysis' scale (0 to
``scale``); its points are its weight x the evaluators' mean score / scale. The price
criterion is computed from the prices, never typed:

- ``proportional``: lowest price / price x weight (the lowest price has the full weight);
- ``linear``: the full weight at the lowest price, 0 at the highest, linear between. With
  one offer, or when every price is equal, every offer has the full weight (there is no
  spread to grade: no offer is "the highest" any more than "the lowest").

Every value is a ``Decimal`` computed in ``CONTEXT`` (40 significant digits); ranking
compares those values; ``display`` quantizes to 0.01, ROUND_HALF_UP, for the pages and
the report only.

Ties (equal totals) are broken by the better points on the most heavily weighted
criterion (the first in the consultation's order when two weigh the same), then by the
lower price; offers still equal share the rank (ex aequo). The rule is the buyer's to set
in its consultation rules (RC): this is the platform's default, stated on the page.

An offer is flagged "abnormally low" by one of two rules, a setting of each analysis:
``ratio`` (the default): its price is below ``threshold`` % (80 by default) of the mean
price of the *other* offers; ``deviation``: below the mean of all the prices minus one
standard deviation. Both are among the detection methods listed by the fiche technique
of the Direction des affaires juridiques (DAJ, ministère de l'Économie) "L'offre
anormalement basse"; a flag only prompts the buyer to ask the bidder for explanations
(Code de la commande publique, L2152-5 and R2152-3), it never rejects the offer.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal

CONTEXT = Context(prec=40)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class PriceMethod(enum.StrEnum):
    PROPORTIONAL = "proportional"
    LINEAR = "linear"


class LowRule(enum.StrEnum):
    RATIO = "ratio"
    DEVIATION = "deviation"


class WeightsError(ValueError):
    """The weights do not add up (``code`` says how)."""

    def __init__(self, code: str, key: str | None = None) -> None:
        self.code = code
        self.key = key
        super().__init__(code if key is None else f"{code}: {key}")


@dataclasses.dataclass(frozen=True)
class SubCriterion:
    key: str
    weight: Decimal


@dataclasses.dataclass(frozen=True)
class Criterion:
    key: str
    weight: Decimal
    is_price: bool = False
    subcriteria: tuple[SubCriterion, ...] = ()

    def leaves(self) -> tuple[tuple[str, Decimal], ...]:
        """The (sub-)criteria evaluators score: the sub-criteria, or the criterion."""
        if self.subcriteria:
            return tuple((s.key, s.weight) for s in self.subcriteria)
        return ((self.key, self.weight),)


def display(value: Decimal) -> Decimal:
    """``value`` as shown: two decimals, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_weights(criteria: Sequence[Criterion], *, total: Decimal = HUNDRED) -> None:
    """Refuse criteria whose weights do not add up to ``total``, sub-criteria whose weights
    do not add up to their criterion's, non-positive weights, more than one price
    criterion, or a price criterion split into sub-criteria."""
    if sum((c.weight for c in criteria), Decimal(0)) != total:
        raise WeightsError("total")
    if sum(1 for c in criteria if c.is_price) > 1:
        raise WeightsError("two_prices")
    for criterion in criteria:
        if criterion.weight <= 0 or any(s.weight <= 0 for s in criterion.subcriteria):
            raise WeightsError("not_positive", criterion.key)
        if criterion.is_price and criterion.subcriteria:
            raise WeightsError("price_split", criterion.key)
        if criterion.subcriteria and (
            sum((s.weight for s in criterion.subcriteria), Decimal(0)) != criterion.weight
        ):
            raise WeightsError("subcriteria", criterion.key)


# --- Price -------------------------------------------------------------------------------


def proportional(price: Decimal, lowest: Decimal, weight: Decimal) -> Decimal:
    """lowest / price x weight (prices > 0)."""
    return CONTEXT.divide(CONTEXT.multiply(weight, lowest), price)


def linear(price: Decimal, lowest: Decimal, highest: Decimal, weight: Decimal) -> Decimal:
    """weight at the lowest price, 0 at the highest, linear between; the full weight when
    there is no spread (one offer, equal prices)."""
    if highest == lowest:
        return weight
    return CONTEXT.divide(
        CONTEXT.multiply(weight, CONTEXT.subtract(highest, price)),
        CONTEXT.subtract(highest, lowest),
    )


def price_points(
    prices: Mapping[str, Decimal], weight: Decimal, method: PriceMethod
) -> dict[str, Decimal]:
    """Each offer's points on the price criterion."""
    if not prices:
        return {}
    if any(p <= 0 for p in prices.values()):
        raise ValueError("Prices must be positive.")
    lowest, highest = min(prices.values()), max(prices.values())
    if method == PriceMethod.PROPORTIONAL:
        return {k: proportional(p, lowest, weight) for k, p in prices.items()}
    return {k: linear(p, lowest, highest, weight) for k, p in prices.items()}


# --- Scores --------------------------------------------------------------------------------


def mean(values: Iterable[Decimal]) -> Decimal:
    values = list(values)
    if not values:
        raise ValueError("No value.")
    return CONTEXT.divide(sum(values, Decimal(0)), Decimal(len(values)))


def leaf_points(scores: Sequence[Decimal], weight: Decimal, scale: Decimal) -> Decimal:
    """weight x mean score / scale: the evaluators' scores on one (sub-)criterion."""
    if any(s < 0 or s > scale for s in scores):
        raise ValueError("A score is out of the scale.")
    return CONTEXT.divide(CONTEXT.multiply(weight, mean(scores)), scale)


@dataclasses.dataclass(frozen=True)
class OfferInput:
    key: str
    price: Decimal
    # Evaluators' scores per leaf key (every non-price leaf must have at least one).
    scores: Mapping[str, Sequence[Decimal]]


@dataclasses.dataclass(frozen=True)
class Ranked:
    key: str
    price: Decimal
    points: dict[str, Decimal]  # per criterion key
    total: Decimal
    rank: int
    ex_aequo: bool
    abnormally_low: bool


def criterion_points(
    offers: Sequence[OfferInput],
    criteria: Sequence[Criterion],
    *,
    scale: Decimal,
    method: PriceMethod,
) -> dict[str, dict[str, Decimal]]:
    """Points of each offer (by key) on each criterion (by key)."""
    result: dict[str, dict[str, Decimal]] = {o.key: {} for o in offers}
    for criterion in criteria:
        if criterion.is_price:
            computed = price_points({o.key: o.price for o in offers}, criterion.weight, method)
            for key, value in computed.items():
                result[key][criterion.key] = value
            continue
        for offer in offers:
            total = Decimal(0)
            for leaf, weight in criterion.leaves():
                scores = offer.scores.get(leaf) or ()
                if not scores:
                    raise ValueError(f"Offer {offer.key} is not scored on {leaf}.")
                total = CONTEXT.add(total, leaf_points(scores, weight, scale))
            result[offer.key][criterion.key] = total
    return result


def heaviest(criteria: Sequence[Criterion]) -> Criterion | None:
    """The most heavily weighted criterion; the first in order among equals."""
    best: Criterion | None = None
    for criterion in criteria:
        if best is None or criterion.weight > best.weight:
            best = criterion
    return best


def rank(
    offers: Sequence[OfferInput],
    criteria: Sequence[Criterion],
    *,
    scale: Decimal,
    method: PriceMethod,
    low_rule: LowRule = LowRule.RATIO,
    threshold: Decimal = Decimal(80),
) -> list[Ranked]:
    """The offers, best first, with their points, total, rank and flags."""
    check_weights(criteria)
    points = criterion_points(offers, criteria, scale=scale, method=method)
    totals = {k: sum(p.values(), Decimal(0)) for k, p in points.items()}
    top = heaviest(criteria)
    low = abnormally_low({o.key: o.price for o in offers}, rule=low_rule, threshold=threshold)

    def tie_key(offer: OfferInput) -> tuple[Decimal, Decimal, Decimal]:
        on_top = points[offer.key][top.key] if top is not None else Decimal(0)
        return (-totals[offer.key], -on_top, offer.price)

    # The key makes the order total: ties on every rule are then ordered by key only to
    # show them in a stable order; they share their rank.
    ordered = sorted(offers, key=lambda o: (tie_key(o), o.key))
    ranked: list[Ranked] = []
    current_rank = 0
    for position, offer in enumerate(ordered, start=1):
        if position == 1 or tie_key(offer) != tie_key(ordered[position - 2]):
            current_rank = position
        same = [o for o in ordered if tie_key(o) == tie_key(offer)]
        ranked.append(
            Ranked(
                key=offer.key,
                price=offer.price,
                points=points[offer.key],
                total=totals[offer.key],
                rank=current_rank,
                ex_aequo=len(same) > 1,
                abnormally_low=offer.key in low,
            )
        )
    return ranked


# --- Abnormally low offers -----------------------------------------------------------------


def _stdev(values: Sequence[Decimal], average: Decimal) -> Decimal:
    # Population standard deviation of the prices received.
    variance = CONTEXT.divide(
        sum((CONTEXT.power(CONTEXT.subtract(v, average), 2) for v in values), Decimal(0)),
        Decimal(len(values)),
    )
    return CONTEXT.sqrt(variance)


def abnormally_low(
    prices: Mapping[str, Decimal],
    *,
    rule: LowRule = LowRule.RATIO,
    threshold: Decimal = Decimal(80),
) -> set[str]:
    """The offers whose price is abnormally low by ``rule`` (nothing with one offer: there
    is nothing to compare it with but the buyer's estimate)."""
    if len(prices) < 2:
        return set()
    flagged = set()
    if rule == LowRule.RATIO:
        for key, price in prices.items():
            others = [p for k, p in prices.items() if k != key]
            limit = CONTEXT.divide(CONTEXT.multiply(mean(others), threshold), HUNDRED)
            if price < limit:
                flagged.add(key)
        return flagged
    values = list(prices.values())
    average = mean(values)
    limit = CONTEXT.subtract(average, _stdev(values, average))
    return {key for key, price in prices.items() if price < limit}
