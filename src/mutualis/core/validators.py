from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren


def validate_siren(value: str) -> None:
    """A SIREN is 9 digits with a Luhn check digit (python-stdnum knows the rules)."""
    if not value:
        return
    try:
        siren.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("%(value)s is not a valid SIREN number (9 digits with a valid check digit)."),
            code="invalid_siren",
            params={"value": value},
        ) from exc
