import pytest
from django.core.exceptions import ValidationError

from mutualis.core.validators import validate_siren


@pytest.mark.parametrize("value", ["212102313", "200000172", "356000000"])
def test_valid_sirens_pass(value):
    validate_siren(value)


@pytest.mark.parametrize("value", ["212102314", "12345678", "1234567890", "ABCDEFGHI"])
def test_invalid_sirens_are_refused_with_a_code(value):
    with pytest.raises(ValidationError) as excinfo:
        validate_siren(value)
    assert excinfo.value.code == "invalid_siren"
