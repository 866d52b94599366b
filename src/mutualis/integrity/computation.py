"""The job's work: read every member's facts in a few set-based queries
(``crossings.procedure_facts``), apply the indicators (``indicators.py``) in memory, and
replace the computed rows in one transaction (``crossings.replace_results``).

No query per procedure or per member: on 100,000 procedures the job runs six
statements to read and a bulk insert to write. A procedure is its first consultation (a
two-phase procedure's offer phase is folded into its parent); a flag per lot names the
lot of the consultation that received the offers.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Hashable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from mutualis.contracts.models import AwardState
from mutualis.procurement.deadlines import PARIS
from mutualis.procurement.vocabulary import TWO_PHASE

from . import crossings, indicators, references
from .indicators import Facts, Indicator
from .models import BuyerIndicator, Computation, ProcedureFlag

# Rotation is looked for among the awards of the last three years.
ROTATION_WINDOW = timedelta(days=3 * 365)


@dataclasses.dataclass(frozen=True)
class Procedure:
    pk: int
    organisation_id: int
    parent_id: int | None
    procedure: str
    category: str
    main_cpv: str
    estimated_value: Decimal | None
    published_at: datetime
    response_deadline: datetime
    round: int = 0
    # The procedure's first consultation, the chain walked up (``with_roots``).
    root_id: int | None = None

    @property
    def root(self) -> int:
        return self.root_id if self.root_id is not None else (self.parent_id or self.pk)


def with_roots(procedures: dict[int, Procedure]) -> dict[int, Procedure]:
    """Each procedure with the first consultation of its chain: an offer phase's parent,
    a negotiation round's parent's first, however many rounds deep."""
    out = {}
    for pk, procedure in procedures.items():
        root, steps = pk, 0
        while (current := procedures.get(root)) is not None and current.parent_id is not None:
            root, steps = current.parent_id, steps + 1
            if steps > len(procedures):  # a cycle cannot be stored; never loop on one
                break
        out[pk] = dataclasses.replace(procedure, root_id=root)
    return out


@dataclasses.dataclass
class Result:
    """The rows one run writes, before they are saved."""

    flags: list[ProcedureFlag] = dataclasses.field(default_factory=list)
    counted: Counter[tuple[int, str]] = dataclasses.field(default_factory=Counter)
    flagged: dict[tuple[int, str], set[Hashable]] = dataclasses.field(
        default_factory=lambda: defaultdict(set)
    )
    extra: dict[tuple[int, str], dict[str, Any]] = dataclasses.field(
        default_factory=lambda: defaultdict(dict)
    )

    def flag(
        self, procedure: Procedure, indicator: str, facts: Facts, *, lot_id: int | None, unit: Any
    ) -> None:
        self.flags.append(
            ProcedureFlag(
                organisation_id=procedure.organisation_id,
                consultation_id=procedure.root,
                lot_id=lot_id,
                indicator=indicator,
                facts=facts,
            )
        )
        self.flagged[(procedure.organisation_id, indicator)].add(unit)


def _paris_date(instant: datetime) -> date:
    return timezone.localtime(instant, PARIS).date()


def compute(*, now: datetime | None = None) -> Computation:
    """Compute every member's indicators and replace the stored ones; returns the run."""
    started = timezone.now()
    now = now or started
    facts = crossings.procedure_facts()
    result = evaluate(facts, now=now)
    for flag in result.flags:
        flag.computed_at = now
    figures = _buyer_rows(result, now=now)
    computation = Computation(
        started_at=started,
        finished_at=timezone.now(),
        procedures=sum(1 for row in facts.consultations if row[2] is None),
        flags=len(result.flags),
        buyers=len({row.organisation_id for row in figures}),
    )
    crossings.replace_results(flags=result.flags, indicators=figures, computation=computation)
    return computation


def evaluate(facts: crossings.Facts, *, now: datetime) -> Result:
    """Apply every indicator to the facts read (no query)."""
    procedures = with_roots({row[0]: Procedure(*row) for row in facts.consultations})
    result = Result()
    offers: dict[tuple[int, int | None], set[int]] = defaultdict(set)
    for consultation_id, lot_id, company_id in facts.offers:
        if consultation_id in procedures:
            offers[(consultation_id, lot_id)].add(company_id)
    _single_bid(procedures, offers, result, now=now)
    _short_deadline(procedures, result)
    _withdrawn(procedures, offers, facts, result, now=now)
    _close_prices(procedures, facts, result)
    _rotation(procedures, offers, facts, result, now=now)
    _under_threshold(procedures, facts, result)
    return result


def _single_bid(
    procedures: dict[int, Procedure],
    offers: dict[tuple[int, int | None], set[int]],
    result: Result,
    *,
    now: datetime,
) -> None:
    # Counted: every lot of a competitive procedure past its deadline that received at
    # least one offer on time (the Scoreboard's denominator: procedures with bids).
    for (consultation_id, lot_id), companies in offers.items():
        procedure = procedures[consultation_id]
        if procedure.procedure not in indicators.COMPETITIVE or procedure.response_deadline > now:
            continue
        unit = (consultation_id, lot_id)
        result.counted[(procedure.organisation_id, Indicator.SINGLE_BID)] += 1
        found = indicators.single_bid(procedure=procedure.procedure, on_time_offers=len(companies))
        if found:
            result.flag(procedure, Indicator.SINGLE_BID, found, lot_id=lot_id, unit=unit)


def _short_deadline(procedures: dict[int, Procedure], result: Result) -> None:
    for procedure in procedures.values():
        if procedure.round:
            # A negotiation round's deadline has no legal minimum.
            continue
        phase = references.OFFERS
        if procedure.parent_id is None and procedure.procedure in TWO_PHASE:
            phase = references.APPLICATIONS
        if not indicators.has_minimum(procedure=procedure.procedure, phase=phase):
            continue
        # One count per procedure, whatever its phases: its first consultation counts.
        if procedure.parent_id is None:
            result.counted[(procedure.organisation_id, Indicator.SHORT_DEADLINE)] += 1
        found = indicators.short_deadline(
            procedure=procedure.procedure,
            phase=phase,
            published_on=_paris_date(procedure.published_at),
            deadline_on=_paris_date(procedure.response_deadline),
        )
        if found:
            result.flag(
                procedure, Indicator.SHORT_DEADLINE, found, lot_id=None, unit=procedure.root
            )


def _withdrawn(
    procedures: dict[int, Procedure],
    offers: dict[tuple[int, int | None], set[int]],
    facts: crossings.Facts,
    result: Result,
    *,
    now: datetime,
) -> None:
    withdrawn: Counter[int] = Counter()
    for consultation_id, lot_id, company_id in facts.withdrawn:
        # Replaced by another offer of the same company on the same lot: not a withdrawal.
        if consultation_id in procedures and company_id not in offers.get(
            (consultation_id, lot_id), set()
        ):
            withdrawn[procedures[consultation_id].root] += 1
    abandoned: Counter[int] = Counter()
    for consultation_id, _lot, _company, _amount, state, _decided in facts.awards:
        if consultation_id in procedures and state == AwardState.ABANDONED:
            abandoned[procedures[consultation_id].root] += 1
    # Counted: procedures past their deadline that received offers (kept or withdrawn).
    received = {procedures[c].root for (c, _lot) in offers} | set(withdrawn)
    for root in received:
        procedure = procedures.get(root)
        if procedure is None or (procedure.response_deadline > now and not abandoned[root]):
            continue
        result.counted[(procedure.organisation_id, Indicator.WITHDRAWN)] += 1
        found = indicators.withdrawn(
            withdrawn_offers=withdrawn[root], abandoned_awards=abandoned[root]
        )
        if found:
            result.flag(procedure, Indicator.WITHDRAWN, found, lot_id=None, unit=root)


def _close_prices(procedures: dict[int, Procedure], facts: crossings.Facts, result: Result) -> None:
    prices: dict[tuple[int, int | None], list[Decimal]] = defaultdict(list)
    for consultation_id, lot_id, price in facts.prices:
        if consultation_id in procedures:
            prices[(consultation_id, lot_id)].append(price)
    for (consultation_id, lot_id), values in prices.items():
        if len(values) < 2:
            continue
        procedure = procedures[consultation_id]
        result.counted[(procedure.organisation_id, Indicator.CLOSE_PRICES)] += 1
        found = indicators.close_prices(values)
        if found:
            result.flag(
                procedure,
                Indicator.CLOSE_PRICES,
                found,
                lot_id=lot_id,
                unit=(consultation_id, lot_id),
            )


def _rotation(
    procedures: dict[int, Procedure],
    offers: dict[tuple[int, int | None], set[int]],
    facts: crossings.Facts,
    result: Result,
    *,
    now: datetime,
) -> None:
    lots: list[indicators.AwardedLot] = []
    for consultation_id, lot_id, company_id, _amount, state, decided_at in facts.awards:
        procedure = procedures.get(consultation_id)
        if (
            procedure is None
            or company_id is None
            or state == AwardState.ABANDONED
            or procedure.procedure not in indicators.COMPETITIVE
            or decided_at < now - ROTATION_WINDOW
        ):
            continue
        key = (consultation_id, lot_id)
        result.counted[(procedure.organisation_id, Indicator.ROTATION)] += 1
        lots.append(
            indicators.AwardedLot(
                key=key,
                group=(procedure.organisation_id, procedure.main_cpv[:2]),
                bidders=frozenset(offers.get(key, ())),
                winner=company_id,
            )
        )
    sets: dict[int, set[Any]] = defaultdict(set)
    for found_key, found in indicators.rotation(lots).items():
        consultation_id, lot_id = found_key  # type: ignore[misc]
        key = (consultation_id, lot_id)
        procedure = procedures[consultation_id]
        result.flag(procedure, Indicator.ROTATION, found, lot_id=lot_id, unit=key)
        sets[procedure.organisation_id].add((procedure.main_cpv[:2], found["set"]))
    for organisation_id, found_sets in sets.items():
        result.extra[(organisation_id, Indicator.ROTATION)]["sets"] = len(found_sets)


def _under_threshold(
    procedures: dict[int, Procedure], facts: crossings.Facts, result: Result
) -> None:
    awarded: dict[int, Decimal] = defaultdict(Decimal)
    for consultation_id, _lot, _company, amount, state, _decided in facts.awards:
        if consultation_id in procedures and amount is not None and state != AwardState.ABANDONED:
            awarded[procedures[consultation_id].root] += amount
    for procedure in procedures.values():
        if procedure.parent_id is not None or procedure.procedure == "request_for_information":
            continue
        estimated = procedure.estimated_value or facts.lot_values.get(procedure.pk)
        values = (("estimated", estimated), ("awarded", awarded.get(procedure.pk)))
        if all(value is None for _what, value in values):
            continue
        result.counted[(procedure.organisation_id, Indicator.UNDER_THRESHOLD)] += 1
        kind = references.kind_of(procedure.category)
        on = _paris_date(procedure.published_at)
        for what, value in values:
            found = indicators.under_threshold(value=value, kind=kind, on=on, what=what)
            if found:
                result.flag(
                    procedure, Indicator.UNDER_THRESHOLD, found, lot_id=None, unit=procedure.pk
                )


def _buyer_rows(result: Result, *, now: datetime) -> list[BuyerIndicator]:
    rows = []
    for (organisation_id, indicator), counted in sorted(result.counted.items()):
        flagged = min(len(result.flagged.get((organisation_id, indicator), ())), counted)
        share = indicators.share(flagged, counted)
        facts = dict(result.extra.get((organisation_id, indicator), {}))
        if indicator == Indicator.SINGLE_BID:
            facts["rating"] = indicators.scoreboard_rating(share)
        rows.append(
            BuyerIndicator(
                organisation_id=organisation_id,
                indicator=indicator,
                counted=counted,
                flagged=flagged,
                share=share,
                facts=facts,
                computed_at=now,
            )
        )
    return rows
