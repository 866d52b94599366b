"""SIRET numbers are read with python-stdnum's rules, La Poste's exception included."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.fr import siret as siret_rules

from mutualis.core import errors
from mutualis.core.numbers import parse_siret, siren_of

# La Poste: every establishment shares SIREN 356 000 000; the head office's SIRET passes
# Luhn, the others only the rule "digit sum multiple of 5".
LA_POSTE_HEAD_OFFICE = "35600000000048"
LA_POSTE_ESTABLISHMENT = "35600000049837"


@pytest.mark.parametrize("number", [LA_POSTE_HEAD_OFFICE, LA_POSTE_ESTABLISHMENT])
def test_la_poste_sirets_are_valid(number):
    assert siret_rules.is_valid(number)
    assert parse_siret(number) == number
    assert siren_of(number) == "356000000"


def test_a_la_poste_siret_is_checked_by_its_digit_sum_not_by_luhn():
    assert not luhn.is_valid(LA_POSTE_ESTABLISHMENT)
    # One more on the last digit: the digit sum is no longer a multiple of 5.
    with pytest.raises(errors.SiretBadCheckDigit):
        parse_siret("35600000049838")


def test_a_luhn_invalid_siret_is_refused():
    assert parse_siret("73282932000074") == "73282932000074"
    with pytest.raises(errors.SiretBadCheckDigit) as raised:
        parse_siret("73282932000075")
    assert raised.value.code == "siret_bad_check_digit"
    assert raised.value.field == "siret"


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("7328293200007", errors.SiretWrongLength),
        ("732829320000740", errors.SiretWrongLength),
        ("732829320", errors.SiretWrongLength),
        ("7328293200007A", errors.SiretNotDigits),
        ("SIRET 73282932000074", errors.SiretNotDigits),
        ("", errors.SiretNotDigits),
    ],
)
def test_malformed_sirets_say_what_is_wrong(typed, error):
    with pytest.raises(error) as raised:
        parse_siret(typed)
    assert isinstance(raised.value, errors.InvalidSiret)


@pytest.mark.parametrize("typed", ["732 829 320 00074", " 732.829.320.00074 ", "73282932000074"])
def test_spaces_and_dots_are_ignored(typed):
    assert parse_siret(typed) == "73282932000074"


def test_the_siren_of_a_siret_is_its_first_nine_digits():
    assert siren_of("73282932000074") == "732829320"


def _siret(siren_body: str, nic_body: str) -> str:
    siren = siren_body + luhn.calc_check_digit(siren_body)
    body = siren + nic_body
    return body + luhn.calc_check_digit(body)


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
)
def test_a_siret_with_its_luhn_digits_is_accepted(siren_body, nic_body):
    number = _siret(siren_body, nic_body)
    assume(not number.startswith("356000000"))
    assert parse_siret(number) == number
    assert siren_of(number) == number[:9]


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet="0123456789", min_size=4, max_size=4),
    st.integers(0, 13),
    st.integers(1, 9),
)
def test_any_single_wrong_digit_is_refused(siren_body, nic_body, position, shift):
    number = _siret(siren_body, nic_body)
    assume(not number.startswith("356000000"))
    wrong = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    assume(not wrong.startswith("356000000"))
    with pytest.raises(errors.SiretBadCheckDigit):
        parse_siret(wrong)
