"""The integrity indicators on small hand-built values: true and false cases, and the
edges (exactly at a threshold or a minimum, ties, a non-competitive procedure)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from mutualis.integrity import explanations, indicators, references
from mutualis.integrity.indicators import AwardedLot, Indicator

# --- Single bid ---------------------------------------------------------------------------


@pytest.mark.parametrize("procedure", sorted(indicators.COMPETITIVE))
def test_one_offer_in_a_competitive_procedure_is_a_single_bid(procedure):
    assert indicators.single_bid(procedure=procedure, on_time_offers=1) == {"offers": 1}


@pytest.mark.parametrize("offers", [0, 2, 5])
def test_none_or_several_offers_are_not_a_single_bid(offers):
    assert indicators.single_bid(procedure="open", on_time_offers=offers) is None


@pytest.mark.parametrize(
    "procedure", ["without_publicity", "subsequent", "request_for_information"]
)
def test_one_offer_in_a_non_competitive_procedure_is_not_a_flag(procedure):
    assert indicators.single_bid(procedure=procedure, on_time_offers=1) is None


@pytest.mark.parametrize(
    ("share", "rating"),
    [
        (None, ""),
        (Decimal("0"), "satisfactory"),
        (Decimal("0.10"), "satisfactory"),
        (Decimal("0.1001"), "average"),
        (Decimal("0.20"), "average"),
        (Decimal("0.2001"), "unsatisfactory"),
    ],
)
def test_the_single_bid_share_is_rated_as_the_scoreboard_does(share, rating):
    assert indicators.scoreboard_rating(share) == rating


# --- Shortened deadline -------------------------------------------------------------------


def _deadline(procedure: str, phase: str, days: int):
    start = date(2026, 3, 2)
    return indicators.short_deadline(
        procedure=procedure, phase=phase, published_on=start, deadline_on=start + timedelta(days)
    )


def test_an_open_call_for_tenders_under_thirty_days_is_shortened():
    found = _deadline("open", references.OFFERS, 29)
    assert found == {
        "phase": "offers",
        "days": 29,
        "minimum": 30,
        "legal": True,
        "article": "R2161-2 et R2161-3 2°",
    }


def test_a_period_of_exactly_the_minimum_is_not_shortened():
    assert _deadline("open", references.OFFERS, 30) is None
    assert _deadline("restricted", references.APPLICATIONS, 30) is None
    assert _deadline("restricted", references.OFFERS, 25) is None


def test_each_phase_of_a_restricted_procedure_has_its_own_minimum():
    assert _deadline("restricted", references.APPLICATIONS, 29)["minimum"] == 30
    assert _deadline("restricted", references.OFFERS, 24)["minimum"] == 25
    assert _deadline("restricted", references.OFFERS, 29) is None


def test_an_adapted_procedure_is_compared_with_the_platforms_reference_said_so():
    found = _deadline("adapted", references.OFFERS, 10)
    assert found["minimum"] == 15
    assert found["legal"] is False
    assert _deadline("adapted", references.OFFERS, 15) is None


@pytest.mark.parametrize(
    "procedure", ["without_publicity", "subsequent", "request_for_information"]
)
def test_a_procedure_without_a_minimum_is_not_judged(procedure):
    assert _deadline(procedure, references.OFFERS, 1) is None
    assert not indicators.has_minimum(procedure=procedure, phase=references.OFFERS)


# --- Withdrawn offers, abandoned awards -----------------------------------------------------


def test_nothing_withdrawn_nor_abandoned_is_no_flag():
    assert indicators.withdrawn(withdrawn_offers=0, abandoned_awards=0) is None


@pytest.mark.parametrize(("offers", "awards"), [(1, 0), (0, 1), (2, 1)])
def test_a_withdrawal_or_an_abandoned_award_is_a_flag(offers, awards):
    assert indicators.withdrawn(withdrawn_offers=offers, abandoned_awards=awards) == {
        "withdrawn_offers": offers,
        "abandoned_awards": awards,
    }


# --- Identical or near-identical prices -----------------------------------------------------


def _prices(*values: str):
    return indicators.close_prices([Decimal(v) for v in values])


def test_identical_prices_are_flagged_and_counted_as_ties():
    found = _prices("48000.00", "52000.00", "48000.00")
    assert found == {"offers": 3, "identical_pairs": 1, "smallest_gap_percent": "0.00"}


def test_a_gap_of_exactly_one_percent_is_flagged():
    found = _prices("99000", "100000")
    assert found is not None
    assert found["smallest_gap_percent"] == "1.00"


def test_a_gap_just_over_one_percent_is_not_flagged():
    assert _prices("98990", "100000") is None


def test_one_price_or_none_is_not_judged():
    assert _prices("100000") is None
    assert indicators.close_prices([]) is None


def test_the_closest_pair_is_found_whatever_the_order():
    found = _prices("130000", "100000", "129500", "70000")
    assert found["smallest_gap_percent"] == "0.38"


# --- Rotating winners -----------------------------------------------------------------------


def _lot(key, winner, bidders=(1, 2, 3), group=("A", "45")):
    return AwardedLot(key=key, group=group, bidders=frozenset(bidders), winner=winner)


def test_the_same_set_of_bidders_taking_turns_is_flagged():
    found = indicators.rotation([_lot("l1", 1), _lot("l2", 2), _lot("l3", 3)])
    assert set(found) == {"l1", "l2", "l3"}
    assert found["l1"] == {"set": 1, "bidders": 3, "lots": 3, "winners": 3}


def test_one_company_winning_every_time_is_not_rotation():
    assert indicators.rotation([_lot("l1", 1), _lot("l2", 1), _lot("l3", 1)]) == {}


def test_two_lots_are_not_enough():
    assert indicators.rotation([_lot("l1", 1), _lot("l2", 2)]) == {}


def test_a_set_that_changes_is_not_the_same_set():
    lots = [_lot("l1", 1), _lot("l2", 2), _lot("l3", 3, bidders=(1, 2, 3, 4))]
    assert indicators.rotation(lots) == {}


def test_sets_of_different_buyers_or_cpv_divisions_are_apart():
    lots = [_lot("l1", 1), _lot("l2", 2), _lot("l3", 3, group=("A", "72"))]
    assert indicators.rotation(lots) == {}


def test_a_single_bidder_is_no_set():
    lots = [_lot(f"l{n}", 1, bidders=(1,)) for n in range(4)]
    assert indicators.rotation(lots) == {}


# --- Just under a threshold -----------------------------------------------------------------


def _under(value: str, *, kind=references.SUPPLIES_SERVICES, on=date(2025, 6, 1)):
    return indicators.under_threshold(value=Decimal(value), kind=kind, on=on, what="estimated")


def test_just_under_forty_thousand_is_flagged_with_its_source():
    found = _under("39500")
    assert found["threshold"] == "40000"
    assert found["threshold_code"] == "no_competition"
    assert "2019-1344" in found["source"]


def test_exactly_at_the_threshold_is_not_under_it():
    assert _under("40000") is None
    assert _under("90000") is None


def test_ninety_five_percent_is_the_lower_edge():
    assert _under("38000") is not None
    assert _under("37999.99") is None


def test_the_threshold_in_force_on_the_publication_date_applies():
    # Supplies: 40,000 € until 31 March 2026, then 60,000 € (décret n° 2025-1386).
    assert _under("39000", on=date(2026, 3, 31)) is not None
    assert _under("39000", on=date(2026, 4, 1)) is None
    assert _under("58000", on=date(2026, 4, 1))["threshold"] == "60000"
    # Works: 100,000 € since 2026.
    assert _under("98000", kind=references.WORKS, on=date(2026, 2, 1))["threshold"] == "100000"


def test_the_european_thresholds_change_every_two_years():
    assert _under("215000", on=date(2025, 6, 1))["threshold"] == "221000"
    assert _under("215000", on=date(2026, 6, 1))["threshold"] == "216000"
    works = indicators.under_threshold(
        value=Decimal("5300000"), kind=references.WORKS, on=date(2026, 6, 1), what="awarded"
    )
    assert works["threshold"] == "5404000"


def test_no_value_is_not_judged():
    kind = references.WORKS
    assert indicators.under_threshold(value=None, kind=kind, on=date(2026, 1, 1), what="x") is None


def test_every_threshold_row_has_a_source_and_consistent_dates():
    for threshold in references.THRESHOLDS:
        assert threshold.source
        assert threshold.url.startswith("http")
        assert threshold.valid_to is None or threshold.valid_from <= threshold.valid_to
    # One row at most per code and kind on any day (no overlapping validity).
    for kind in (references.WORKS, references.SUPPLIES_SERVICES):
        day = date(2020, 1, 1)
        while day < date(2028, 1, 1):
            codes = [t.code for t in references.thresholds_in_force(kind=kind, on=day)]
            assert len(codes) == len(set(codes)), (kind, day, codes)
            day += timedelta(days=1)


# --- Shares and explanations ------------------------------------------------------------------


def test_a_share_of_nothing_is_none():
    assert indicators.share(0, 0) is None
    assert indicators.share(1, 3) == Decimal("0.3333")


@pytest.mark.parametrize(
    ("indicator", "facts", "expected"),
    [
        (Indicator.SINGLE_BID, {"offers": 1}, "Only one offer"),
        (
            Indicator.SHORT_DEADLINE,
            {"phase": "offers", "days": 12, "minimum": 15, "legal": False, "article": "R2151-1"},
            "12 days",
        ),
        (Indicator.WITHDRAWN, {"withdrawn_offers": 1, "abandoned_awards": 2}, "2"),
        (
            Indicator.CLOSE_PRICES,
            {"offers": 3, "identical_pairs": 1, "smallest_gap_percent": "0.00"},
            "identical prices: 1",
        ),
        (
            Indicator.ROTATION,
            {"set": 1, "bidders": 3, "lots": 4, "winners": 3},
            "4 awarded lots",
        ),
        (
            Indicator.UNDER_THRESHOLD,
            {"what": "awarded", "value": "39500.00", "threshold": "40000", "source": "R2122-8"},
            "39\u202f500",
        ),
    ],
)
def test_each_flag_says_what_was_seen_with_its_figures(indicator, facts, expected):
    # English msgids here; the French is the catalogue's (the translations test checks it).
    with translation.override("en"):
        text = explanations.seen(indicator, facts)
    assert expected in text


def test_figures_written_differently_fall_back_to_the_definition():
    with translation.override("en"):
        text = explanations.seen(Indicator.ROTATION, {"unexpected": True})
    assert "CPV division" in text


def test_every_indicator_has_a_definition_with_sources():
    assert set(explanations.DEFINITIONS) == set(Indicator.values)
    for definition in explanations.DEFINITIONS.values():
        assert definition.sources
        assert all(source.url.startswith("http") for source in definition.sources)
