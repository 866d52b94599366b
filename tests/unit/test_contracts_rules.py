"""Pure rules of the second slice: order numbers, the framework test, amounts refused
with the caller's error, the retention's anniversary, the letters' decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from mutualis.contracts import errors, letters, retention, rules


@pytest.mark.parametrize("value", ["BC-2027/001", "1", "a.b_c-d/e", "x" * 30])
def test_order_numbers_accepted(value):
    assert rules.order_number(f"  {value} ") == value


@pytest.mark.parametrize("value", ["", " ", "x" * 31, "BC 1", "BC\x00", "é", None])
def test_order_numbers_refused(value):
    with pytest.raises(errors.OrderNumberInvalid):
        rules.order_number(value)


def test_a_framework_agreement_is_read_from_the_techniques():
    assert rules.is_framework(SimpleNamespace(techniques=["auction", "framework"]))
    assert not rules.is_framework(SimpleNamespace(techniques=[]))
    assert not rules.is_framework(SimpleNamespace(techniques=None))


def test_an_amount_is_refused_with_the_callers_error():
    assert rules.amount("100 000,5", error=errors.MaximumInvalid) == Decimal("100000.50")
    with pytest.raises(errors.MaximumInvalid):
        rules.amount("-1", error=errors.MaximumInvalid)
    with pytest.raises(errors.AmountInvalid):
        rules.amount("Infinity")


def test_the_retention_is_due_on_the_anniversary():
    assert retention.add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert retention.add_years(date(2026, 12, 7), 5) == date(2031, 12, 7)


def test_letters_write_french_decimals():
    assert letters._decimal(Decimal("32")) == "32,00"
    assert letters._decimal(Decimal("17.50"), places=False) == "17,5"
    assert letters._decimal(Decimal("40.00"), places=False) == "40"
    assert letters.euros(Decimal("1234567.8")) == "1\u202f234\u202f567,80 €"
