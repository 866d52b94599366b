"""The integrity job on real rows: each indicator raised where it should and nowhere
else, the buyer's counts and shares, two members kept apart, a run repeated changes
nothing, and the number of queries does not grow with the procedures."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from mutualis.contracts.models import AwardState
from mutualis.core import registry
from mutualis.deposits.models import DepositState
from mutualis.integrity import computation, tasks
from mutualis.integrity.indicators import Indicator
from mutualis.integrity.models import BuyerIndicator, Computation, ProcedureFlag
from mutualis.procurement.models import State
from tests.factories import integrity as f

pytestmark = pytest.mark.django_db


def _flags(organisation) -> list[tuple[int, int | None, str]]:
    with scope(organisation=organisation.pk):
        return sorted(
            ProcedureFlag.objects.filter(organisation=organisation).values_list(
                "consultation_id", "lot_id", "indicator"
            )
        )


def _figures(organisation) -> dict[str, tuple[int, int, Decimal | None]]:
    with scope(organisation=organisation.pk):
        return {
            row.indicator: (row.counted, row.flagged, row.share)
            for row in BuyerIndicator.objects.filter(organisation=organisation)
        }


def test_single_bid_per_lot_only_in_competitive_procedures(org_a):
    one, two, three = f.company(1), f.company(2), f.company(3)
    alone = f.procedure(org_a, procedure="open")
    f.offer(alone, one)
    f.offer(alone, two, late=True)  # late: eliminated, not counted
    crowded = f.procedure(org_a, procedure="adapted", lots=2)
    f.offer(crowded, one, lot=f.lot(crowded, 1))
    f.offer(crowded, one, lot=f.lot(crowded, 2))
    f.offer(crowded, two, lot=f.lot(crowded, 2))
    direct = f.procedure(org_a, procedure="without_publicity")
    f.offer(direct, three)
    still_open = f.procedure(org_a, published_at=timezone.now() - timedelta(days=5), days=30)
    f.offer(still_open, three)

    computation.compute()

    singles = [flag for flag in _flags(org_a) if flag[2] == Indicator.SINGLE_BID]
    assert singles == [
        (alone.pk, None, Indicator.SINGLE_BID),
        (crowded.pk, f.lot(crowded, 1).pk, Indicator.SINGLE_BID),
    ]
    # Counted: the lots of competitive procedures past their deadline with an offer.
    assert _figures(org_a)[Indicator.SINGLE_BID] == (3, 2, Decimal("0.6667"))
    with scopes_disabled():
        assert BuyerIndicator.objects.get(indicator=Indicator.SINGLE_BID).facts == {
            "rating": "unsatisfactory"
        }


def test_a_shortened_deadline_counts_each_procedure_once(org_a):
    short = f.procedure(org_a, procedure="open", days=20)
    f.procedure(org_a, procedure="open", days=30)
    restricted = f.procedure(org_a, procedure="restricted", days=35)
    f.procedure(org_a, procedure="restricted", days=20, parent=restricted)  # offers: 20 < 25
    f.procedure(org_a, procedure="without_publicity", days=2)

    computation.compute()

    shortened = [flag for flag in _flags(org_a) if flag[2] == Indicator.SHORT_DEADLINE]
    assert shortened == [
        (short.pk, None, Indicator.SHORT_DEADLINE),
        (restricted.pk, None, Indicator.SHORT_DEADLINE),
    ]
    assert _figures(org_a)[Indicator.SHORT_DEADLINE] == (3, 2, Decimal("0.6667"))


def test_withdrawals_not_replaced_and_abandoned_awards(org_a, agent_a):
    one, two = f.company(1), f.company(2)
    withdrawn = f.procedure(org_a)
    f.offer(withdrawn, one, state=DepositState.WITHDRAWN)
    f.offer(withdrawn, two)
    replaced = f.procedure(org_a)
    f.offer(replaced, one, state=DepositState.WITHDRAWN)
    f.offer(replaced, one)  # the same company deposited again: not a withdrawal
    f.offer(replaced, two)
    abandoned = f.procedure(org_a)
    f.offer(abandoned, one)
    f.offer(abandoned, two)
    f.award(abandoned, agent_a, one, state=AwardState.ABANDONED)
    f.award(abandoned, agent_a, two)

    computation.compute()

    assert [flag for flag in _flags(org_a) if flag[2] == Indicator.WITHDRAWN] == [
        (withdrawn.pk, None, Indicator.WITHDRAWN),
        (abandoned.pk, None, Indicator.WITHDRAWN),
    ]
    with scope(organisation=org_a.pk):
        facts = ProcedureFlag.objects.get(
            consultation=abandoned, indicator=Indicator.WITHDRAWN
        ).facts
    assert facts == {"withdrawn_offers": 0, "abandoned_awards": 1}


def test_close_prices_per_lot_and_no_price_kept(org_a, agent_a):
    tied = f.procedure(org_a, lots=2)
    f.prices(tied, agent_a, "50000", "50000", "61000", lot=f.lot(tied, 1))
    f.prices(tied, agent_a, "50000", "51000", lot=f.lot(tied, 2))  # 1.96 %: not flagged
    lone = f.procedure(org_a)
    f.prices(lone, agent_a, "42000")

    computation.compute()

    close = [flag for flag in _flags(org_a) if flag[2] == Indicator.CLOSE_PRICES]
    assert close == [(tied.pk, f.lot(tied, 1).pk, Indicator.CLOSE_PRICES)]
    assert _figures(org_a)[Indicator.CLOSE_PRICES] == (2, 1, Decimal("0.5000"))
    with scope(organisation=org_a.pk):
        facts = ProcedureFlag.objects.get(indicator=Indicator.CLOSE_PRICES).facts
    assert "50000" not in str(facts)  # the figures kept are a count and a gap


def test_rotating_winners_among_the_same_bidders(org_a, agent_a):
    one, two, three = f.company(1), f.company(2), f.company(3)
    rotated = []
    for winner in (one, two, three):
        consultation = f.procedure(org_a, main_cpv="45261000")
        for bidder in (one, two, three):
            f.offer(consultation, bidder)
        f.award(consultation, agent_a, winner)
        rotated.append(consultation)
    other_division = f.procedure(org_a, main_cpv="72000000")
    for bidder in (one, two, three):
        f.offer(other_division, bidder)
    f.award(other_division, agent_a, one)

    computation.compute()

    flagged = [flag[0] for flag in _flags(org_a) if flag[2] == Indicator.ROTATION]
    assert flagged == [c.pk for c in rotated]
    with scopes_disabled():
        row = BuyerIndicator.objects.get(indicator=Indicator.ROTATION)
    assert (row.counted, row.flagged, row.facts) == (4, 3, {"sets": 1})


def test_values_just_under_a_threshold_in_force(org_a, agent_a):
    published = timezone.now() - timedelta(days=60)
    under = f.procedure(
        org_a,
        procedure="without_publicity",
        category="works",
        estimated_value=Decimal("99000"),
        published_at=published,
    )
    at = f.procedure(org_a, category="works", estimated_value=Decimal("100000"))
    awarded_under = f.procedure(org_a, category="supplies", estimated_value=Decimal("150000"))
    f.award(awarded_under, agent_a, f.company(1), amount="89500")
    f.procedure(org_a, procedure="request_for_information", estimated_value=Decimal("99000"))

    computation.compute()

    flagged = [flag[0] for flag in _flags(org_a) if flag[2] == Indicator.UNDER_THRESHOLD]
    assert flagged == [under.pk, awarded_under.pk]
    assert at.pk not in flagged
    assert _figures(org_a)[Indicator.UNDER_THRESHOLD] == (3, 2, Decimal("0.6667"))


def test_members_are_kept_apart_and_a_rerun_changes_nothing(org_a, org_b):
    mine = f.procedure(org_a)
    f.offer(mine, f.company(1))
    theirs = f.procedure(org_b, days=10)
    f.offer(theirs, f.company(1))
    f.offer(theirs, f.company(2))

    first = tasks.compute_indicators.call()
    before = (_flags(org_a), _flags(org_b), _figures(org_a), _figures(org_b))
    second = tasks.compute_indicators.call()

    assert first == second == {"procedures": 2, "flags": 2, "buyers": 2}
    assert (_flags(org_a), _flags(org_b), _figures(org_a), _figures(org_b)) == before
    assert _flags(org_a) == [(mine.pk, None, Indicator.SINGLE_BID)]
    assert _flags(org_b) == [(theirs.pk, None, Indicator.SHORT_DEADLINE)]
    with scopes_disabled():
        assert Computation.objects.count() == 2
        assert ProcedureFlag.objects.count() == 2


def test_drafts_tests_and_scheduled_consultations_are_not_read(org_a):
    draft = f.procedure(org_a, state=State.DRAFT, days=3)
    f.offer(draft, f.company(1))

    computation.compute()

    assert _flags(org_a) == []


def test_the_job_runs_the_same_queries_for_ten_times_the_procedures(org_a, agent_a):
    def build(n: int) -> None:
        for i in range(n):
            consultation = f.procedure(org_a, days=20, estimated_value=Decimal("39000"))
            f.offer(consultation, f.company(i % 3 + 1))
            f.award(consultation, agent_a, f.company(i % 3 + 1))

    build(2)
    with CaptureQueriesContext(connection) as few:
        computation.compute()
    build(20)
    with CaptureQueriesContext(connection) as many:
        run = computation.compute()
    assert run.procedures == 22
    reads = [q for q in many.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    few_reads = [q for q in few.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == len(few_reads)


def test_the_demo_step_computes_the_indicators(org_a):
    consultation = f.procedure(org_a)
    f.offer(consultation, f.company(1))
    (step,) = [s for s in registry.demo_steps() if s.name == "integrity.indicators"]
    out = io.StringIO()

    step.run(out)

    assert "1" in out.getvalue()
    assert _flags(org_a) == [(consultation.pk, None, Indicator.SINGLE_BID)]
