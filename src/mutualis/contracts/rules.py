"""Input rules shared by the award and contract use cases: amounts, texts, SIRETs, dates.
Each refuses with a clear message; nothing here touches the database."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from mutualis.core import errors as core_errors
from mutualis.core.numbers import parse_siret

from . import errors
from .models import AMOUNT_DIGITS, MAX_REASONS

MAX_AMOUNT = Decimal(10) ** (AMOUNT_DIGITS - 2) - Decimal("0.01")
MAX_PARTIES = 50
MAX_DURATION = 1200
_REFERENCE = re.compile(r"^[A-Za-z0-9._-]{1,16}$")
# C0 controls other than tab and line breaks, and DEL: never in a letter.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def amount(value: object, *, error: type[errors.ContractsError] = errors.AmountInvalid) -> Decimal:
    """A non-negative amount in euros with at most two decimals ("12 500,50" accepted)."""
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value or "").replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
        text = text.replace(",", ".")
        if not text or len(text) > 20:
            raise error()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise error() from None
    if not number.is_finite() or number < 0 or number > MAX_AMOUNT:
        raise error()
    if number != number.quantize(Decimal("0.01")):
        raise error()
    return number.quantize(Decimal("0.01"))


FRAMEWORK = "framework"  # procurement.vocabulary.Technique.FRAMEWORK


def is_framework(consultation: object) -> bool:
    """Whether the consultation's purchasing techniques include a framework agreement."""
    return FRAMEWORK in (getattr(consultation, "techniques", None) or [])


_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9./_-]{1,30}$")


def order_number(value: object) -> str:
    cleaned = str(value or "").strip()
    if not _ORDER_NUMBER.match(cleaned):
        raise errors.OrderNumberInvalid()
    return cleaned


def text(value: object, *, required: bool, maximum: int = MAX_REASONS) -> str:
    cleaned = str(value or "").strip()
    if _CONTROL.search(cleaned) or len(cleaned) > maximum or (required and not cleaned):
        raise errors.ReasonsRequired()
    return cleaned


def siret(value: str, *, field: str) -> str:
    try:
        return parse_siret(value)
    except core_errors.MutualisError as exc:
        raise errors.SiretInvalid(value, str(exc.message), field=field) from None


def sirets(values: list[str], *, field: str) -> list[str]:
    """Each non-empty line a SIRET, validated, without repeats."""
    found: list[str] = []
    for value in values:
        if not value.strip():
            continue
        number = siret(value, field=field)
        if number not in found:
            found.append(number)
    if len(found) > MAX_PARTIES:
        raise errors.TooManyParties()
    return found


def reference(value: object) -> str:
    cleaned = str(value or "").strip()
    if not _REFERENCE.match(cleaned):
        raise errors.ReferenceInvalid()
    return cleaned


def duration(value: object) -> int:
    try:
        months = int(str(value).strip())
    except (TypeError, ValueError):
        raise errors.DurationInvalid() from None
    if not 1 <= months <= MAX_DURATION:
        raise errors.DurationInvalid()
    return months


def day(
    value: object, *, today: date, error: type[errors.ContractsError] = errors.DateInvalid
) -> date:
    """A date typed as DD/MM/YYYY or YYYY-MM-DD (or a ``date``), not after ``today``."""
    parsed = value if isinstance(value, date) and not isinstance(value, datetime) else None
    if parsed is None:
        cleaned = str(value or "").strip()[:20]
        for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                parsed = datetime.strptime(cleaned, pattern).date()  # noqa: DTZ007 (a date)
                break
            except ValueError:
                continue
    if parsed is None or parsed > today:
        raise error()
    return parsed
