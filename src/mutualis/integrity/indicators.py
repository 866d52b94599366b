"""The integrity indicators ("red flags"): one pure function each, on plain values, with
its definition, its threshold and the published source it follows (``sources.py``).

A flag is a prompt to look, never a verdict: each says what was seen, in figures, and
the page says why it matters and what to check (``explanations.py``). The functions take
what the platform itself records; ``computation.py`` reads it in batches and calls them.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from . import references

Facts = dict[str, Any]


class Indicator(models.TextChoices):
    SINGLE_BID = "single_bid", _("Single bid")
    SHORT_DEADLINE = "short_deadline", _("Shortened deadline")
    WITHDRAWN = "withdrawn", _("Offers withdrawn, awards abandoned")
    CLOSE_PRICES = "close_prices", _("Identical or near-identical prices")
    ROTATION = "rotation", _("Rotating winners")
    UNDER_THRESHOLD = "under_threshold", _("Just under a threshold")


# Procedures open to competition, where a single bid is a signal (Fazekas et al. 2016;
# Cardinal R018 "open or selective"). A contract without publicity, a subsequent
# contract among a framework's holders and a request for information are not: one offer
# there is expected.
COMPETITIVE = frozenset({"adapted", "open", "restricted", "negotiated", "competitive_dialogue"})


def single_bid(*, procedure: str, on_time_offers: int) -> Facts | None:
    """Single bid (Fazekas, Tóth, King 2016; Cardinal R018; the Single Market
    Scoreboard's "single bidder"). A lot (or a consultation without lots) of a
    competitive procedure whose deadline has passed and which received exactly one
    offer on time (late offers are eliminated, R2151-5, so they do not count).

    Threshold: one offer. None when the procedure is not competitive or no offer came
    (no offer at all is an unsuccessful procedure, not a single bid)."""
    if procedure not in COMPETITIVE or on_time_offers != 1:
        return None
    return {"offers": 1}


# The Single Market Scoreboard's colours for the share of single-bid procedures.
SCOREBOARD_SATISFACTORY = Decimal("0.10")  # at most 10 %
SCOREBOARD_UNSATISFACTORY = Decimal("0.20")  # above 20 %


def scoreboard_rating(share: Decimal | None) -> str:
    """ "satisfactory" (≤ 10 %), "average" (≤ 20 %) or "unsatisfactory" (> 20 %)."""
    if share is None:
        return ""
    if share <= SCOREBOARD_SATISFACTORY:
        return "satisfactory"
    if share <= SCOREBOARD_UNSATISFACTORY:
        return "average"
    return "unsatisfactory"


def short_deadline(
    *, procedure: str, phase: str, published_on: date, deadline_on: date
) -> Facts | None:
    """Shortened deadline (Fazekas et al. 2016: the advertisement period; Opentender's
    "advertisement period" indicator, compared here with the French minimums rather than
    with a statistical band). Calendar days from the publication (Paris date) to the
    deadline for responses (Paris date), against the procedure's usual minimum for that
    phase (``references.MINIMUM_PERIODS``). Flagged when strictly shorter: a period of
    exactly the minimum is not. None when the procedure has no minimum (a contract
    without publicity, a subsequent contract)."""
    minimum = references.minimum_period(procedure=procedure, phase=phase)
    if minimum is None:
        return None
    days = (deadline_on - published_on).days
    if days >= minimum.days:
        return None
    return {
        "phase": phase,
        "days": days,
        "minimum": minimum.days,
        "legal": minimum.legal,
        "article": minimum.source,
    }


def has_minimum(*, procedure: str, phase: str) -> bool:
    return references.minimum_period(procedure=procedure, phase=phase) is not None


def withdrawn(*, withdrawn_offers: int, abandoned_awards: int) -> Facts | None:
    """Offers withdrawn, awards abandoned (OECD 2009 checklist: "a bidder withdraws",
    "the winning bidder does not accept the contract").

    What the platform records, said honestly: an offer cannot be withdrawn after the
    deadline, so none is withdrawn after the opening (``deposits.services.withdraw``
    refuses it). What can be seen is (1) an acknowledged offer withdrawn before the
    deadline by a company that then deposited nothing else for the same lot, and
    (2) after the opening, an award abandoned (the chosen offer falling away: the
    winner stepping back, a referral annulling it). Flagged when either happened at
    least once."""
    if withdrawn_offers <= 0 and abandoned_awards <= 0:
        return None
    return {"withdrawn_offers": withdrawn_offers, "abandoned_awards": abandoned_awards}


# Two prices within 1 % of the higher one are "near-identical".
CLOSE_GAP = Decimal("0.01")


def close_prices(prices: Sequence[Decimal], *, gap: Decimal = CLOSE_GAP) -> Facts | None:
    """Identical or near-identical prices (OECD 2009 checklist, "warning signs related
    to pricing": identical prices, bids very close to each other). Among a lot's opened
    offers with a price entered, two prices equal, or whose difference is at most
    ``gap`` (1 %) of the higher one. A gap of exactly 1 % is flagged. Fewer than two
    prices: None."""
    ordered = sorted(p for p in prices if p is not None and p > 0)
    if len(ordered) < 2:
        return None
    identical = 0
    smallest: Decimal | None = None
    for low, high in itertools.pairwise(ordered):
        difference = (high - low) / high
        if difference == 0:
            identical += 1
        smallest = difference if smallest is None else min(smallest, difference)
    if smallest is None or smallest > gap:
        return None
    return {
        "offers": len(ordered),
        "identical_pairs": identical,
        "smallest_gap_percent": str((smallest * 100).quantize(Decimal("0.01"))),
    }


@dataclasses.dataclass(frozen=True)
class AwardedLot:
    """A lot awarded, with the companies whose offers it received on time."""

    key: Hashable  # what the flag is attached to
    group: Hashable  # the buyer and the CPV division (2 digits)
    bidders: frozenset[int]
    winner: int


# A set of bidders seen on at least 3 awarded lots of one buyer and CPV division,
# with at least 2 different winners among them.
ROTATION_MIN_LOTS = 3
ROTATION_MIN_WINNERS = 2


def rotation(lots: Iterable[AwardedLot]) -> dict[Hashable, Facts]:
    """Rotating winners (OECD 2009 checklist: "the same suppliers submit bids and each
    company seems to take a turn being the successful bidder"). Within one buyer and
    one CPV division, the lots that received offers from exactly the same set of at
    least two companies: when that set appears on at least 3 awarded lots and at least
    2 of its companies won some of them, every such lot is flagged. The same set each
    time is the strict reading; a set that grows or shrinks by one company is not
    caught (said on the page)."""
    sets: dict[tuple[Hashable, frozenset[int]], list[AwardedLot]] = defaultdict(list)
    for lot in lots:
        if len(lot.bidders) >= 2 and lot.winner in lot.bidders:
            sets[(lot.group, lot.bidders)].append(lot)
    flagged: dict[Hashable, Facts] = {}
    numbers: dict[Hashable, int] = defaultdict(int)
    for (group, bidders), members in sorted(sets.items(), key=lambda item: str(item[0])):
        winners = {lot.winner for lot in members}
        if len(members) < ROTATION_MIN_LOTS or len(winners) < ROTATION_MIN_WINNERS:
            continue
        numbers[group] += 1
        for lot in members:
            flagged[lot.key] = {
                "set": numbers[group],
                "bidders": len(bidders),
                "lots": len(members),
                "winners": len(winners),
            }
    return flagged


# "Just under": from 95 % of the threshold up to (not including) the threshold.
UNDER_GAP = Decimal("0.05")


def under_threshold(
    *, value: Decimal | None, kind: str, on: date, what: str, gap: Decimal = UNDER_GAP
) -> Facts | None:
    """Just under a threshold (the World Bank's red flag "many awards just below the
    threshold", listed by the Red Flags indicator toolbox; splitting a purchase to stay
    under a threshold is the practice the code forbids, R2121-4). A value (the
    estimated value, or the amount awarded) in ``[threshold * (1 - gap), threshold)``
    for a threshold in force on the procedure's publication date for its kind
    (``references.THRESHOLDS``). At the threshold itself (it applies "from" the amount)
    is not under it; 95 % exactly is."""
    if value is None or value <= 0:
        return None
    for threshold in references.thresholds_in_force(kind=kind, on=on):
        floor = threshold.amount * (1 - gap)
        if floor <= value < threshold.amount:
            return {
                "what": what,
                "value": str(value),
                "threshold": str(threshold.amount),
                "threshold_code": threshold.code,
                "source": threshold.source,
            }
    return None


def share(flagged: int, counted: int) -> Decimal | None:
    """flagged / counted to four decimals, None when nothing was counted."""
    if counted <= 0:
        return None
    return (Decimal(flagged) / Decimal(counted)).quantize(Decimal("0.0001"))
