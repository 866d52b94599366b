"""The rules of an alert (procurement.alert_matching): each stated criterion must hold,
any value within one may; words folded; the index answers as the pair-by-pair rule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mutualis.procurement.alert_matching import (
    Notice,
    NoticeIndex,
    compiled_words,
    criteria,
    matches,
    notice_text,
)

ROOF = Notice(
    id=1,
    text=notice_text("2027-001", "Réfection de la toiture de l'Église", "Couverture, charpente"),
    cpv_codes=("45261000", "45261210"),
    departements=frozenset({"21"}),
    procedure="adapted",
    category="works",
    buyer="commune-a",
)
CANTEEN = Notice(
    id=2,
    text=notice_text("2027-002", "Restauration scolaire", "Repas des écoles"),
    cpv_codes=("55523100",),
    departements=frozenset({"71"}),
    procedure="open",
    category="services",
    buyer="commune-b",
)


def test_words_are_folded_and_excluded_words_kept_apart():
    assert compiled_words('Église "toiture" -Plomb or zinc') == [
        "eglise",
        "toiture",
        "-plomb",
        "zinc",
    ]
    rule = criteria(words=compiled_words("EGLISE -cantine"))
    assert (rule.words, rule.excluded) == (("eglise",), ("cantine",))


def test_each_stated_criterion_must_hold_and_any_value_within_one():
    assert matches(criteria(cpv_prefixes=["50", "4526"]), ROOF)
    assert not matches(criteria(cpv_prefixes=["4526"], departements=["71"]), ROOF)
    assert matches(criteria(departements=["71", "21"], categories=["works"]), ROOF)
    assert matches(criteria(words=compiled_words("eglise toiture")), ROOF)
    assert not matches(criteria(words=compiled_words("eglise piscine")), ROOF)
    assert not matches(criteria(words=compiled_words("toiture -charpente")), ROOF)
    assert matches(criteria(buyers=["commune-b"], procedures=["open"]), CANTEEN)


def test_a_cpv_prefix_matches_a_lot_or_an_additional_code_too():
    assert matches(criteria(cpv_prefixes=["4526121"]), ROOF)
    assert not matches(criteria(cpv_prefixes=["4526122"]), ROOF)


def test_an_alert_without_criteria_matches_nothing():
    assert not matches(criteria(), ROOF)
    assert NoticeIndex([ROOF, CANTEEN]).matching(criteria()) == frozenset()


CODES = ["45261000", "45261210", "45000000", "55523100", "50000000", "45421000"]
WORDS = ["toiture", "eglise", "ecole", "repas", "charpente", "zinc"]
VALUES = st.lists(st.sampled_from(["21", "71", "2A"]), max_size=2)

notices = st.builds(
    Notice,
    id=st.integers(1, 10_000),
    text=st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
    cpv_codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=3).map(tuple),
    departements=VALUES.map(frozenset),
    procedure=st.sampled_from(["adapted", "open"]),
    category=st.sampled_from(["works", "services", "supplies"]),
    buyer=st.sampled_from(["commune-a", "commune-b"]),
)
rules = st.builds(
    criteria,
    words=st.lists(st.sampled_from(WORDS + ["-" + w for w in WORDS]), max_size=2),
    cpv_prefixes=st.lists(
        st.sampled_from(CODES).flatmap(lambda c: st.integers(2, 8).map(lambda n: c[:n])),
        max_size=2,
    ),
    departements=VALUES,
    procedures=st.lists(st.sampled_from(["adapted", "open"]), max_size=1),
    categories=st.lists(st.sampled_from(["works", "services"]), max_size=1),
    buyers=st.lists(st.sampled_from(["commune-a", "commune-b"]), max_size=1),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(notices, max_size=12, unique_by=lambda n: n.id), rules)
def test_the_index_answers_as_the_rule_pair_by_pair(day, rule):
    expected = {n.id for n in day if matches(rule, n)}
    assert set(NoticeIndex(day).matching(rule)) == expected
