"""The arithmetic of the analysis of offers (evaluation.scoring): price formulas, weighted
totals, ranking with its tie rules, abnormally low offers."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mutualis.evaluation.scoring import (
    Criterion,
    LowRule,
    OfferInput,
    PriceMethod,
    SubCriterion,
    WeightsError,
    abnormally_low,
    check_weights,
    display,
    linear,
    price_points,
    proportional,
    rank,
)

D = Decimal
SCALE = D(10)
PRICE = Criterion("price", D(40), is_price=True)
TECH = Criterion(
    "tech", D(60), subcriteria=(SubCriterion("method", D(35)), SubCriterion("team", D(25)))
)
CRITERIA = (PRICE, TECH)

prices = st.decimals(min_value=D("0.01"), max_value=D("99999999.99"), places=2)
scores = st.decimals(min_value=D(0), max_value=SCALE, places=2)
methods = st.sampled_from(list(PriceMethod))


@st.composite
def offers(draw, min_size=1, max_size=8):
    count = draw(st.integers(min_size, max_size))
    return [
        OfferInput(
            key=f"o{n}",
            price=draw(prices),
            scores={
                "method": draw(st.lists(scores, min_size=1, max_size=3)),
                "team": draw(st.lists(scores, min_size=1, max_size=3)),
            },
        )
        for n in range(count)
    ]


# --- Weights -------------------------------------------------------------------------------


def test_weights_that_add_up_are_accepted():
    check_weights(CRITERIA)


@pytest.mark.parametrize(
    ("criteria", "code"),
    [
        ((Criterion("a", D(50)), Criterion("b", D(40))), "total"),
        (
            (PRICE, Criterion("t", D(60), subcriteria=(SubCriterion("x", D(30)),))),
            "subcriteria",
        ),
        ((PRICE, Criterion("p2", D(60), is_price=True)), "two_prices"),
        (
            (
                Criterion("p", D(40), is_price=True, subcriteria=(SubCriterion("x", D(40)),)),
                Criterion("t", D(60)),
            ),
            "price_split",
        ),
        ((Criterion("a", D(100)), Criterion("b", D(0))), "not_positive"),
    ],
)
def test_weights_that_do_not_add_up_are_refused(criteria, code):
    with pytest.raises(WeightsError) as caught:
        check_weights(criteria)
    assert caught.value.code == code


# --- Price formulas ------------------------------------------------------------------------


def test_proportional_gives_lowest_over_price_times_weight():
    assert proportional(D(200), D(100), D(40)) == D(20)
    assert proportional(D(100), D(100), D(40)) == D(40)


def test_linear_gives_full_weight_at_lowest_and_nothing_at_highest():
    assert linear(D(100), D(100), D(200), D(40)) == D(40)
    assert linear(D(200), D(100), D(200), D(40)) == D(0)
    assert linear(D(150), D(100), D(200), D(40)) == D(20)


def test_linear_with_one_offer_or_equal_prices_gives_the_full_weight():
    assert price_points({"a": D(120)}, D(40), PriceMethod.LINEAR) == {"a": D(40)}
    assert price_points({"a": D(5), "b": D(5)}, D(40), PriceMethod.LINEAR) == {
        "a": D(40),
        "b": D(40),
    }


@given(st.dictionaries(st.text(min_size=1, max_size=3), prices, min_size=1), methods)
def test_the_lowest_price_gets_the_full_weight_and_none_more(given_prices, method):
    points = price_points(given_prices, D(40), method)
    lowest = min(given_prices.values())
    for key, price in given_prices.items():
        assert D(0) <= points[key] <= D(40)
        if price == lowest:
            assert points[key] == D(40)


@given(prices, prices, methods)
def test_a_lower_price_never_scores_less(a, b, method):
    points = price_points({"a": a, "b": b}, D(40), method)
    if a < b:
        assert points["a"] >= points["b"]


def test_display_rounds_half_up_to_cents():
    assert display(D("12.345")) == D("12.35")
    assert display(D("12.344999")) == D("12.34")
    assert display(D(40) / D(3)) == D("13.33")


# --- Ranking -------------------------------------------------------------------------------


@given(offers(), methods)
def test_totals_never_exceed_100(given_offers, method):
    for ranked in rank(given_offers, CRITERIA, scale=SCALE, method=method):
        assert D(0) <= ranked.total <= D(100)
        assert ranked.total == sum(ranked.points.values())


@given(offers(), methods)
def test_ranking_is_a_total_order_consistent_with_totals(given_offers, method):
    ranked = rank(given_offers, CRITERIA, scale=SCALE, method=method)
    assert sorted(r.key for r in ranked) == sorted(o.key for o in given_offers)
    assert ranked[0].rank == 1
    for before, after in itertools.pairwise(ranked):
        assert before.total >= after.total
        assert before.rank <= after.rank
        if before.rank == after.rank:
            assert before.ex_aequo
            assert after.ex_aequo
            assert before.total == after.total
            assert before.price == after.price
        else:
            # Competition ranking: a rank is the position of its first offer.
            assert after.rank == ranked.index(after) + 1


@given(offers(min_size=2), methods, st.randoms(use_true_random=False))
def test_ranking_does_not_depend_on_the_order_of_the_offers(given_offers, method, random):
    shuffled = list(given_offers)
    random.shuffle(shuffled)
    first = rank(given_offers, CRITERIA, scale=SCALE, method=method)
    second = rank(shuffled, CRITERIA, scale=SCALE, method=method)
    assert [(r.key, r.rank, r.total) for r in first] == [(r.key, r.rank, r.total) for r in second]


def _offer(key, price, method, team):
    return OfferInput(key, D(price), {"method": [D(method)], "team": [D(team)]})


def test_equal_totals_are_broken_by_the_heaviest_criterion():
    # Proportional price (lowest 100): a has 20 + 35 + 15 = 70, c has 40 + 21 + 9 = 70.
    a = _offer("a", 200, 10, 6)
    c = _offer("c", 100, 6, "3.6")
    ranked = rank([c, a], CRITERIA, scale=SCALE, method=PriceMethod.PROPORTIONAL)
    assert ranked[0].total == ranked[1].total == D(70)
    # The technical value (60) weighs most: a has 50 on it, c 30.
    assert [(r.key, r.rank, r.ex_aequo) for r in ranked] == [("a", 1, False), ("c", 2, False)]


def test_equal_totals_and_equal_top_criterion_are_broken_by_the_lower_price():
    criteria = (Criterion("tech", D(60)), Criterion("delay", D(40)))
    a = OfferInput("a", D(120), {"tech": [D(10)], "delay": [D(5)]})
    b = OfferInput("b", D(100), {"tech": [D(10)], "delay": [D(5)]})
    ranked = rank([a, b], criteria, scale=SCALE, method=PriceMethod.LINEAR)
    assert [(r.key, r.rank, r.ex_aequo) for r in ranked] == [("b", 1, False), ("a", 2, False)]


def test_offers_equal_on_every_rule_are_ex_aequo():
    a = _offer("a", 100, 8, 8)
    b = _offer("b", 100, 8, 8)
    c = _offer("c", 150, 8, 8)
    ranked = rank([c, b, a], CRITERIA, scale=SCALE, method=PriceMethod.PROPORTIONAL)
    assert [(r.key, r.rank, r.ex_aequo) for r in ranked] == [
        ("a", 1, True),
        ("b", 1, True),
        ("c", 3, False),
    ]


def test_scores_are_averaged_over_evaluators():
    offer = OfferInput("a", D(100), {"method": [D(10), D(6)], "team": [D(5)]})
    (ranked,) = rank([offer], CRITERIA, scale=SCALE, method=PriceMethod.LINEAR)
    assert ranked.points == {"price": D(40), "tech": D(35) * D("0.8") + D("12.5")}


def test_a_score_out_of_the_scale_is_refused():
    offer = OfferInput("a", D(100), {"method": [D(11)], "team": [D(5)]})
    with pytest.raises(ValueError, match="scale"):
        rank([offer], CRITERIA, scale=SCALE, method=PriceMethod.LINEAR)


def test_a_missing_score_is_refused():
    offer = OfferInput("a", D(100), {"method": [D(5)]})
    with pytest.raises(ValueError, match="not scored"):
        rank([offer], CRITERIA, scale=SCALE, method=PriceMethod.LINEAR)


# --- Abnormally low ------------------------------------------------------------------------


def test_a_price_below_80_percent_of_the_others_mean_is_flagged():
    flagged = abnormally_low({"a": D(100), "b": D(110), "c": D(70)})
    assert flagged == {"c"}  # 70 < 0.8 x 105 = 84


def test_the_ratio_is_a_setting():
    assert abnormally_low({"a": D(100), "b": D(110), "c": D(70)}, threshold=D(60)) == set()


def test_one_offer_is_never_flagged():
    assert abnormally_low({"a": D(1)}) == set()
    assert abnormally_low({"a": D(1)}, rule=LowRule.DEVIATION) == set()


def test_the_deviation_rule_flags_below_mean_minus_one_standard_deviation():
    # Mean 100, population standard deviation ≈ 21.6: the limit is ≈ 78.4.
    flagged = abnormally_low(
        {"a": D(120), "b": D(110), "c": D(70), "d": D(100)}, rule=LowRule.DEVIATION
    )
    assert flagged == {"c"}


@given(
    st.dictionaries(st.text(min_size=1, max_size=3), prices, min_size=1),
    st.sampled_from(list(LowRule)),
)
def test_the_highest_price_is_never_abnormally_low(given_prices, rule):
    highest = max(given_prices.values())
    flagged = abnormally_low(given_prices, rule=rule)
    assert all(given_prices[k] != highest for k in flagged)
