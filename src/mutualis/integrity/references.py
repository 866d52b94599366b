"""The legal figures the indicators compare with, each with its validity dates and its
source: the thresholds of value (one table) and the minimum periods for responses.

Kept as data in one place so that a new decree is one row added, with its dates, and the
past keeps being judged by the rules of its time (a procedure is compared with the
thresholds in force when it was published).
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

# Families of procedures a threshold applies to (``procurement.vocabulary.Category``).
WORKS = "works"
SUPPLIES_SERVICES = "supplies_services"

CODE = "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000037701019"
LEGIFRANCE_R2122_8 = CODE
LEGIFRANCE_R2131_12 = CODE
DECREE_2019_1344 = "https://www.legifrance.gouv.fr/eli/decret/2019/12/12/2019-1344/jo/texte"
DECREE_2025_1386 = "https://www.legifrance.gouv.fr/jorf/id/JORFTEXT000053202067"
DECREE_2020_893 = "https://www.legifrance.gouv.fr/eli/decret/2020/7/22/2020-893/jo/texte"
LAW_2020_1525 = "https://www.legifrance.gouv.fr/eli/loi/2020/12/7/2020-1525/jo/texte"
EU_2019_1828 = "http://data.europa.eu/eli/reg_del/2019/1828/oj"
EU_2021_1952 = "http://data.europa.eu/eli/reg_del/2021/1952/oj"
EU_2023_2495 = "http://data.europa.eu/eli/reg_del/2023/2495/oj"
EU_2025_2152 = "http://data.europa.eu/eli/reg_del/2025/2152/oj"


@dataclasses.dataclass(frozen=True)
class Threshold:
    """A legal threshold of value (excluding VAT): at or above it, more is required (a
    publicity, a formal procedure). ``valid_to`` is the last day it applies (None: in
    force). ``kinds``: the families it applies to."""

    code: str
    label: object
    amount: Decimal
    kinds: frozenset[str]
    valid_from: date
    valid_to: date | None
    source: str
    url: str

    def applies(self, *, kind: str, on: date) -> bool:
        return (
            kind in self.kinds
            and self.valid_from <= on
            and (self.valid_to is None or on <= self.valid_to)
        )


NO_COMPETITION = _("Contract without publicity or competition (R2122-8)")
BOTH = frozenset({WORKS, SUPPLIES_SERVICES})
ONLY_WORKS = frozenset({WORKS})
ONLY_SUPPLIES = frozenset({SUPPLIES_SERVICES})

# The members are local authorities: the European thresholds are those of sub-central
# contracting authorities (directive 2014/24/EU, article 4 c), not the central
# government's. Below the national "dispense" threshold a contract may be concluded
# without publicity or competition (R2122-8); from 90,000 € an adapted procedure is
# advertised in the BOAMP or a legal gazette (R2131-12).
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "no_competition",
        NO_COMPETITION,
        Decimal(40000),
        ONLY_SUPPLIES,
        date(2020, 1, 1),
        date(2026, 3, 31),
        "Décret n° 2019-1344 du 12 décembre 2019, article R2122-8",
        DECREE_2019_1344,
    ),
    Threshold(
        "no_competition",
        NO_COMPETITION,
        Decimal(60000),
        ONLY_SUPPLIES,
        date(2026, 4, 1),
        None,
        "Décret n° 2025-1386 du 29 décembre 2025, article R2122-8",
        DECREE_2025_1386,
    ),
    Threshold(
        "no_competition",
        NO_COMPETITION,
        Decimal(40000),
        ONLY_WORKS,
        date(2020, 1, 1),
        date(2020, 7, 23),
        "Décret n° 2019-1344 du 12 décembre 2019, article R2122-8",
        DECREE_2019_1344,
    ),
    Threshold(
        "no_competition",
        NO_COMPETITION,
        Decimal(70000),
        ONLY_WORKS,
        date(2020, 7, 24),
        date(2020, 12, 8),
        "Décret n° 2020-893 du 22 juillet 2020 (relèvement temporaire)",
        DECREE_2020_893,
    ),
    Threshold(
        "no_competition",
        NO_COMPETITION,
        Decimal(100000),
        ONLY_WORKS,
        date(2020, 12, 9),
        date(2025, 12, 31),
        "Loi n° 2020-1525 du 7 décembre 2020 (ASAP), art. 142; décrets n° 2022-1683 et "
        "n° 2024-1217 (prorogations)",
        LAW_2020_1525,
    ),
    Threshold(
        "no_competition",
        NO_COMPETITION,
        Decimal(100000),
        ONLY_WORKS,
        date(2026, 1, 1),
        None,
        "Décret n° 2025-1386 du 29 décembre 2025, article R2122-8",
        DECREE_2025_1386,
    ),
    Threshold(
        "advertised_mapa",
        _("Adapted procedure advertised in the BOAMP or a legal gazette (R2131-12)"),
        Decimal(90000),
        BOTH,
        date(2019, 4, 1),
        None,
        "Article R2131-12 du code de la commande publique",
        LEGIFRANCE_R2131_12,
    ),
    Threshold(
        "eu_supplies",
        _("European threshold, supplies and services of local authorities"),
        Decimal(214000),
        ONLY_SUPPLIES,
        date(2020, 1, 1),
        date(2021, 12, 31),
        "Règlement délégué (UE) 2019/1828",
        EU_2019_1828,
    ),
    Threshold(
        "eu_supplies",
        _("European threshold, supplies and services of local authorities"),
        Decimal(215000),
        ONLY_SUPPLIES,
        date(2022, 1, 1),
        date(2023, 12, 31),
        "Règlement délégué (UE) 2021/1952",
        EU_2021_1952,
    ),
    Threshold(
        "eu_supplies",
        _("European threshold, supplies and services of local authorities"),
        Decimal(221000),
        ONLY_SUPPLIES,
        date(2024, 1, 1),
        date(2025, 12, 31),
        "Règlement délégué (UE) 2023/2495",
        EU_2023_2495,
    ),
    Threshold(
        "eu_supplies",
        _("European threshold, supplies and services of local authorities"),
        Decimal(216000),
        ONLY_SUPPLIES,
        date(2026, 1, 1),
        date(2027, 12, 31),
        "Règlement délégué (UE) 2025/2152",
        EU_2025_2152,
    ),
    Threshold(
        "eu_works",
        _("European threshold, works"),
        Decimal(5350000),
        ONLY_WORKS,
        date(2020, 1, 1),
        date(2021, 12, 31),
        "Règlement délégué (UE) 2019/1828",
        EU_2019_1828,
    ),
    Threshold(
        "eu_works",
        _("European threshold, works"),
        Decimal(5382000),
        ONLY_WORKS,
        date(2022, 1, 1),
        date(2023, 12, 31),
        "Règlement délégué (UE) 2021/1952",
        EU_2021_1952,
    ),
    Threshold(
        "eu_works",
        _("European threshold, works"),
        Decimal(5538000),
        ONLY_WORKS,
        date(2024, 1, 1),
        date(2025, 12, 31),
        "Règlement délégué (UE) 2023/2495",
        EU_2023_2495,
    ),
    Threshold(
        "eu_works",
        _("European threshold, works"),
        Decimal(5404000),
        ONLY_WORKS,
        date(2026, 1, 1),
        date(2027, 12, 31),
        "Règlement délégué (UE) 2025/2152",
        EU_2025_2152,
    ),
)


def kind_of(category: str) -> str:
    """The threshold family of a consultation's category (works, supplies, services)."""
    return WORKS if category == WORKS else SUPPLIES_SERVICES


def thresholds_in_force(*, kind: str, on: date) -> list[Threshold]:
    return [t for t in THRESHOLDS if t.applies(kind=kind, on=on)]


# --- Minimum periods for responses --------------------------------------------------------

APPLICATIONS = "applications"
OFFERS = "offers"


@dataclasses.dataclass(frozen=True)
class MinimumPeriod:
    """The usual minimum number of calendar days between the publication and the deadline
    for responses of one phase of a procedure. ``legal`` False: no minimum in the code,
    a reference value the platform uses (said so on the page)."""

    procedure: str
    phase: str
    days: int
    legal: bool
    source: str


LEGIFRANCE_DEADLINES = CODE

# Responses are received electronically on the platform, so the reduced periods for
# electronic transmission are the usual minimums (contracting authorities, formal
# procedures). A shorter period may be lawful (urgency duly justified, a prior
# information notice: R2161-3, R2161-8…): the flag says to check which.
MINIMUM_PERIODS: tuple[MinimumPeriod, ...] = (
    MinimumPeriod("open", OFFERS, 30, True, "R2161-2 et R2161-3 2°"),
    MinimumPeriod("restricted", APPLICATIONS, 30, True, "R2161-6"),
    MinimumPeriod("restricted", OFFERS, 25, True, "R2161-7 et R2161-8"),
    MinimumPeriod("negotiated", APPLICATIONS, 30, True, "R2161-12"),
    MinimumPeriod("negotiated", OFFERS, 25, True, "R2161-13 et R2161-14"),
    MinimumPeriod("competitive_dialogue", APPLICATIONS, 30, True, "R2161-24"),
    # An adapted procedure (MAPA) has no minimum: the buyer sets "a reasonable period"
    # given the contract's complexity (R2151-1). 15 days is the platform's reference,
    # not a rule of law.
    MinimumPeriod("adapted", OFFERS, 15, False, "R2151-1 (référence de la plateforme)"),
)


def minimum_period(*, procedure: str, phase: str) -> MinimumPeriod | None:
    for period in MINIMUM_PERIODS:
        if period.procedure == procedure and period.phase == phase:
            return period
    return None
