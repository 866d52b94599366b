"""SIRET numbers (of a company's or an organisation's establishments): read what a
person typed, with python-stdnum's rules.

python-stdnum knows La Poste's exception (its establishments share SIREN 356 000 000 and
their SIRETs are checked by a digit sum multiple of 5, not by Luhn): never check by hand.
"""

from __future__ import annotations

from stdnum import exceptions as stdnum_errors
from stdnum.fr import siret as siret_rules

from . import errors


def parse_siret(value: str) -> str:
    """The 14 digits of a SIRET typed with or without spaces or dots; raises an
    ``InvalidSiret`` that says what is wrong."""
    try:
        return str(siret_rules.validate(value or ""))
    # InvalidLength derives from InvalidFormat: the narrower one first.
    except stdnum_errors.InvalidLength:
        raise errors.SiretWrongLength() from None
    except stdnum_errors.InvalidFormat:
        raise errors.SiretNotDigits() from None
    except stdnum_errors.InvalidChecksum:
        raise errors.SiretBadCheckDigit() from None
    except stdnum_errors.ValidationError:
        raise errors.InvalidSiret() from None


def siren_of(siret: str) -> str:
    return str(siret_rules.to_siren(siret))
