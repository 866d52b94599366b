"""The published definitions the indicators follow, cited on the pages with their links
(``docs/integrity.md`` gives the same list with what each indicator takes from each)."""

from __future__ import annotations

import dataclasses

from django.utils.translation import gettext_lazy as _


@dataclasses.dataclass(frozen=True)
class Source:
    key: str
    citation: str  # as published: authors, title, year (not translated)
    url: str
    what: object  # what the platform takes from it (translated)


OECD_GUIDELINES = Source(
    "oecd_guidelines",
    "OECD (2009), Guidelines for Fighting Bid Rigging in Public Procurement — "
    "Checklist for detecting bid rigging in public procurement",
    "https://www.oecd.org/competition/cartels/42851044.pdf",
    _(
        "Warning signs in bidding patterns and prices: suppliers taking turns as winners, "
        "identical or suspiciously close prices, a winner that does not take the contract, "
        "fewer bidders than usual."
    ),
)
OECD_RECOMMENDATION = Source(
    "oecd_recommendation",
    "OECD (2012, revised 2023), Recommendation of the Council on Fighting Bid Rigging in "
    "Public Procurement, OECD/LEGAL/0396",
    "https://legalinstruments.oecd.org/en/instruments/OECD-LEGAL-0396",
    _(
        "Buyers should watch for collusive patterns in their own data, with the "
        "guidelines' checklists."
    ),
)
FAZEKAS_2016 = Source(
    "fazekas_2016",
    "Fazekas M., Tóth I. J., King L. P. (2016), An Objective Corruption Risk Index Using "
    "Public Procurement Data, European Journal on Criminal Policy and Research 22(3), 369-397",
    "https://doi.org/10.1007/s10610-016-9308-z",
    _(
        "The single bidder in a competitive procedure as the core red flag, and a short "
        "advertisement period as one of its inputs."
    ),
)
OPENTENDER = Source(
    "opentender",
    "DIGIWHIST / Opentender.eu, integrity indicators (single bidder, advertisement period, "
    "call for tenders publication, decision period)",
    "https://opentender.eu/",
    _("The same red flags computed from every European buyer's published tenders."),
)
CARDINAL_R018 = Source(
    "cardinal_r018",
    "Open Contracting Partnership, Cardinal, indicator R018 \u201cSingle bid received\u201d "
    "(based on Fazekas et al. 2016)",
    "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/018.html",
    _("A contracting process is flagged when a competitive procedure received one bid."),
)
SCOREBOARD = Source(
    "scoreboard",
    "European Commission, Single Market Scoreboard, public procurement: indicator "
    "\u201csingle bidder\u201d",
    "https://single-market-scoreboard.ec.europa.eu/business-framework-conditions/public-procurement_en",
    _(
        "The share of procedures with a single bidder: satisfactory up to 10 %, "
        "unsatisfactory above 20 %."
    ),
)
WORLD_BANK_THRESHOLD = Source(
    "world_bank",
    "World Bank, Fraud and Corruption Awareness Handbook, red flag \u201cmany awards just "
    "below the threshold\u201d (listed in the Red Flags indicator toolbox)",
    "https://indicatortoolbox.eu/",
    _("An unusual number of contracts just below a threshold that would require more competition."),
)

SOURCES: tuple[Source, ...] = (
    OECD_GUIDELINES,
    OECD_RECOMMENDATION,
    FAZEKAS_2016,
    OPENTENDER,
    CARDINAL_R018,
    SCOREBOARD,
    WORLD_BANK_THRESHOLD,
)
