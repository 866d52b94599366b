"""Each flag explains itself: what was seen (in the figures the job kept), why it matters,
what to check. Each indicator's definition, threshold and sources, for the pages.

English msgids, French in the catalogue; placeholders, never f-strings.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import sources
from .indicators import Indicator

VERDICT = gettext_lazy(
    "Each flag is a prompt to look, not a verdict: it says what the platform's own records "
    "show. Many flags have an innocent explanation; the buyer is the one who knows it."
)


@dataclasses.dataclass(frozen=True)
class Definition:
    indicator: str
    label: Any
    definition: Any
    threshold: Any
    why: Any
    check: Any
    sources: tuple[sources.Source, ...]


DEFINITIONS: dict[str, Definition] = {
    Indicator.SINGLE_BID: Definition(
        Indicator.SINGLE_BID,
        Indicator.SINGLE_BID.label,
        gettext_lazy(
            "A lot (or a procedure without lots) of a procedure open to competition (adapted, "
            "open, restricted, negotiated, competitive dialogue) whose deadline has passed "
            "and which received exactly one offer on time. A contract without publicity, a "
            "subsequent contract of a framework agreement or no offer at all is not counted."
        ),
        gettext_lazy(
            "One offer. For the buyer, the share of such lots among those that received an "
            "offer, rated as the Single Market Scoreboard does: satisfactory up to 10 %, "
            "unsatisfactory above 20 %."
        ),
        gettext_lazy(
            "A competitive procedure with a single bidder is the most studied warning sign: "
            "competition did not take place, because of the market, the specifications or "
            "the publicity, or because other companies were discouraged."
        ),
        gettext_lazy(
            "How many companies downloaded the tender documents or asked questions; whether "
            "the specifications, the selection criteria or the deadline could have deterred "
            "them; whether the publicity reached the market."
        ),
        (sources.FAZEKAS_2016, sources.OPENTENDER, sources.CARDINAL_R018, sources.SCOREBOARD),
    ),
    Indicator.SHORT_DEADLINE: Definition(
        Indicator.SHORT_DEADLINE,
        Indicator.SHORT_DEADLINE.label,
        gettext_lazy(
            "Calendar days from the publication to the deadline for responses, shorter than "
            "the usual minimum of the procedure for that phase: open call for tenders 30 "
            "days; restricted and negotiated procedures 30 days for applications and 25 for "
            "offers; competitive dialogue 30 days for applications (responses being "
            "electronic). An adapted procedure has no minimum in the code: 15 days is the "
            "platform's reference, not a rule of law."
        ),
        gettext_lazy(
            "Strictly shorter than the minimum; a period of exactly the minimum is not "
            "flagged. For the buyer, the share of its procedures with such a period."
        ),
        gettext_lazy(
            "A short period leaves little time to prepare a response: it favours a company "
            "that knew of the purchase in advance."
        ),
        gettext_lazy(
            "Whether a duly justified urgency or a prior information notice allowed a "
            "shorter period, and whether the reason is recorded in the file."
        ),
        (sources.FAZEKAS_2016, sources.OPENTENDER),
    ),
    Indicator.WITHDRAWN: Definition(
        Indicator.WITHDRAWN,
        Indicator.WITHDRAWN.label,
        gettext_lazy(
            "The platform refuses the withdrawal of an offer after the deadline, so no offer "
            "is withdrawn after the opening. What it records instead: an offer acknowledged "
            "then withdrawn before the deadline by a company that deposited nothing else for "
            "that lot, and an award abandoned after the opening (the chosen offer falling "
            "away)."
        ),
        gettext_lazy(
            "One withdrawn offer or one abandoned award. For the buyer, the share of its "
            "procedures that received offers."
        ),
        gettext_lazy(
            "A bidder that withdraws, or a winner that does not take the contract, may be "
            "leaving the place to another company as agreed among bidders."
        ),
        gettext_lazy(
            "The reasons given, who won in the end, and whether the company that stepped "
            "back works on the contract as a subcontractor."
        ),
        (sources.OECD_GUIDELINES,),
    ),
    Indicator.CLOSE_PRICES: Definition(
        Indicator.CLOSE_PRICES,
        Indicator.CLOSE_PRICES.label,
        gettext_lazy(
            "Among the opened offers of a lot whose prices were entered in the analysis, "
            "two prices that are equal or differ by at most 1 per cent of the higher one."
        ),
        gettext_lazy(
            "A gap of 1 per cent or less (1 per cent exactly is flagged). For the buyer, the "
            "share of its analysed lots with at least two prices."
        ),
        gettext_lazy(
            "Independent companies rarely arrive at the same price; identical or almost "
            "identical prices may come from a shared calculation or an agreement."
        ),
        gettext_lazy(
            "The price breakdowns (the same unit prices, the same errors, the same layout) "
            "and whether the offers were prepared by the same people."
        ),
        (sources.OECD_GUIDELINES, sources.OECD_RECOMMENDATION),
    ),
    Indicator.ROTATION: Definition(
        Indicator.ROTATION,
        Indicator.ROTATION.label,
        gettext_lazy(
            "Within one buyer and one CPV division (the first two digits of the main CPV "
            "code), over the awards of the last three years: lots that received offers "
            "from exactly the same set of at least two companies. The strict reading: a set "
            "that gains or loses one company is not caught."
        ),
        gettext_lazy(
            "The same set on at least 3 awarded lots, with at least 2 different winners "
            "among them. For the buyer, the share of its awarded lots in such a set."
        ),
        gettext_lazy(
            "Companies taking turns to win while the same set bids each time is a classic "
            "pattern of bid rigging (bid rotation)."
        ),
        gettext_lazy(
            "The winners over time, the losing offers (too high, incomplete), and whether "
            "the winners subcontract to the losers."
        ),
        (sources.OECD_GUIDELINES, sources.OECD_RECOMMENDATION),
    ),
    Indicator.UNDER_THRESHOLD: Definition(
        Indicator.UNDER_THRESHOLD,
        Indicator.UNDER_THRESHOLD.label,
        gettext_lazy(
            "The estimated value or the total amount awarded (excluding VAT) just under a "
            "legal threshold in force when the procedure was published: the threshold "
            "below which no publicity or competition is required (R2122-8), the publicity "
            "threshold of adapted procedures (90,000 €, R2131-12) and the European "
            "thresholds of local authorities."
        ),
        gettext_lazy(
            "From 95 per cent of the threshold up to, but not including, the threshold itself. "
            "For the buyer, the share of its procedures with a known value."
        ),
        gettext_lazy(
            "Staying just under a threshold avoids the publicity or the procedure it "
            "requires; splitting a purchase to do so is forbidden."
        ),
        gettext_lazy(
            "How the value was estimated (the whole need, over the whole duration, every "
            "lot together) and whether similar purchases were made at the same time."
        ),
        (sources.WORLD_BANK_THRESHOLD,),
    ),
}


def _amount(text: str) -> str:
    """12345.60 → "12 345,60" (French grouping, no rounding of what was recorded)."""
    whole, _sep, cents = str(text).partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return "\u202f".join(groups) + ("," + cents if cents and cents.strip("0") else "")


def seen(indicator: str, facts: dict[str, Any]) -> str:
    """What was seen, in the figures the job kept (plain French once translated)."""
    try:
        return _seen(indicator, facts)
    except (KeyError, TypeError, ValueError):
        # Figures of an older run, written differently: the definition still applies.
        return str(DEFINITIONS[indicator].definition) if indicator in DEFINITIONS else ""


def _seen(indicator: str, facts: dict[str, Any]) -> str:
    if indicator == Indicator.SINGLE_BID:
        return _("Only one offer was received on time, in a procedure open to competition.")
    if indicator == Indicator.SHORT_DEADLINE:
        values = {
            "days": int(facts["days"]),
            "minimum": int(facts["minimum"]),
            "article": facts["article"],
        }
        if facts["phase"] == "applications":
            text = _(
                "%(days)s days from the publication to the deadline for applications, "
                "shorter than the usual minimum of %(minimum)s days (%(article)s)."
            )
        else:
            text = _(
                "%(days)s days from the publication to the deadline for offers, shorter "
                "than the usual minimum of %(minimum)s days (%(article)s)."
            )
        text = text % values
        if not facts.get("legal", True):
            text += " " + _("This minimum is the platform's reference, not a rule of law.")
        return text
    if indicator == Indicator.WITHDRAWN:
        return _(
            "Offers withdrawn before the deadline and not replaced: %(withdrawn)s. Awards "
            "abandoned after the opening: %(abandoned)s."
        ) % {
            "withdrawn": int(facts["withdrawn_offers"]),
            "abandoned": int(facts["abandoned_awards"]),
        }
    if indicator == Indicator.CLOSE_PRICES:
        text = _(
            "%(offers)s offers with a price; the two closest differ by %(gap)s %% of the "
            "higher one."
        ) % {"offers": int(facts["offers"]), "gap": str(facts["smallest_gap_percent"])}
        if int(facts.get("identical_pairs", 0)):
            text += " " + _("Pairs of identical prices: %(pairs)s.") % {
                "pairs": int(facts["identical_pairs"])
            }
        return text
    if indicator == Indicator.ROTATION:
        return _(
            "The same %(bidders)s companies bid on %(lots)s awarded lots of this buyer in "
            "the same CPV division, and %(winners)s of them won in turn (set no. %(set)s)."
        ) % {
            "bidders": int(facts["bidders"]),
            "lots": int(facts["lots"]),
            "winners": int(facts["winners"]),
            "set": int(facts["set"]),
        }
    if indicator == Indicator.UNDER_THRESHOLD:
        values = {
            "value": _amount(facts["value"]),
            "threshold": _amount(facts["threshold"]),
            "source": facts["source"],
        }
        if facts["what"] == "awarded":
            return (
                _(
                    "The amount awarded, %(value)s € excl. VAT, is just under the threshold "
                    "of %(threshold)s € (%(source)s)."
                )
                % values
            )
        return (
            _(
                "The estimated value, %(value)s € excl. VAT, is just under the threshold of "
                "%(threshold)s € (%(source)s)."
            )
            % values
        )
    raise KeyError(indicator)


@dataclasses.dataclass(frozen=True)
class Explained:
    """A flag as the pages show it."""

    flag: Any
    label: Any
    seen: str
    why: Any
    check: Any


def explain(flag: Any) -> Explained:
    definition = DEFINITIONS[flag.indicator]
    return Explained(
        flag=flag,
        label=definition.label,
        seen=seen(flag.indicator, flag.facts or {}),
        why=definition.why,
        check=definition.check,
    )
