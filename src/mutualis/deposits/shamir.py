"""Shamir's secret sharing in the format of npm ``shamir-secret-sharing`` 0.0.4.

The buyer's browser splits a consultation's opening key with that package; the opening
combines the holders' shares here. The format, byte for byte:

- arithmetic in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b);
- each byte of the secret is the constant term of its own random polynomial of degree
  ``threshold - 1``;
- a share is the values of those polynomials at one point x (1..255), one byte per byte
  of the secret, followed by x itself: ``len(share) == len(secret) + 1``.

The package refuses a threshold of 1; a share of a threshold-1 split (``split`` below, and
``keys.js`` in the browser) is the degree-0 case of the same format: the secret followed
by x. Any two such shares still combine, and a single one is read by ``secret_of``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _

from mutualis.core.errors import MutualisError

_POLYNOMIAL = 0x11B
# The package's tables use 0xe5 as generator; any generator gives the same products.
_GENERATOR = 0xE5
MAX_SHARES = 255


class ShareError(MutualisError):
    """Shares that cannot be combined (or a split that cannot be made)."""

    code = "shamir_shares_invalid"
    message = _("These key shares cannot be combined.")


def _times(a: int, b: int) -> int:
    """Carry-less multiplication modulo the polynomial (no tables: built once below)."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= _POLYNOMIAL
        b >>= 1
    return product


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * 510
    log = [0] * 256
    value = 1
    for power in range(255):
        exp[power] = exp[power + 255] = value
        log[value] = power
        value = _times(value, _GENERATOR)
    return exp, log


_EXP, _LOG = _tables()


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _div(a: int, b: int) -> int:
    if b == 0:  # Distinct x coordinates make this impossible; kept as a guard.
        raise ZeroDivisionError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] - _LOG[b] + 255]


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    # Horner's method, highest degree first.
    result = 0
    for coefficient in reversed(coefficients):
        result = _mul(result, x) ^ coefficient
    return result


def _check(shares: Sequence[bytes], *, minimum: int) -> None:
    if not isinstance(shares, list | tuple) or not all(isinstance(s, bytes) for s in shares):
        raise ShareError(_("Key shares must be byte strings."))
    if len(shares) < minimum:
        raise ShareError(_("At least two key shares are needed to rebuild the key."))
    if len(shares) > MAX_SHARES:
        raise ShareError(_("At most 255 key shares can be combined."))
    length = len(shares[0])
    if length < 2:
        raise ShareError(_("A key share is too short."))
    if any(len(share) != length for share in shares):
        raise ShareError(_("The key shares do not have the same length: they are not of one key."))
    xs = [share[-1] for share in shares]
    if 0 in xs:
        raise ShareError(_("A key share has the coordinate 0, which no share can have."))
    if len(set(xs)) != len(xs):
        raise ShareError(_("The same key share was given twice."))


def combine(shares: Sequence[bytes]) -> bytes:
    """The secret the shares (at least two, of one split) interpolate at x = 0.

    With fewer shares than the split's threshold the result is a wrong secret, not an
    error: the format cannot tell. Callers check what they rebuilt (``keys.rebuild_identity``
    compares the key with its recorded public key)."""
    _check(shares, minimum=2)
    xs = [share[-1] for share in shares]
    # The Lagrange basis at 0 depends on the x coordinates only: compute it once.
    basis = []
    for i, xi in enumerate(xs):
        weight = 1
        for j, xj in enumerate(xs):
            if i != j:
                # In characteristic 2, (0 - xj) / (xi - xj) is xj / (xi ^ xj).
                weight = _mul(weight, _div(xj, xi ^ xj))
        basis.append(weight)
    secret = bytearray(len(shares[0]) - 1)
    for position in range(len(secret)):
        value = 0
        for share, weight in zip(shares, basis, strict=True):
            value ^= _mul(share[position], weight)
        secret[position] = value
    return bytes(secret)


def secret_of(share: bytes) -> bytes:
    """The secret in one share of a threshold-1 split (a constant polynomial)."""
    _check([share], minimum=1)
    return share[:-1]


def split(secret: bytes, shares: int, threshold: int) -> list[bytes]:
    """Split ``secret`` into ``shares`` shares, any ``threshold`` of which rebuild it,
    with random distinct x coordinates as the npm package draws them (threshold 1 is
    accepted here, see the module's docstring)."""
    if not isinstance(secret, bytes) or not secret:
        raise ShareError(_("The secret to split must be a non-empty byte string."))
    if not 1 <= threshold <= shares <= MAX_SHARES:
        raise ShareError(
            _("The threshold must be between 1 and the number of shares (at most 255).")
        )
    xs = list(range(1, 256))
    secrets.SystemRandom().shuffle(xs)
    xs = xs[:shares]
    result = [bytearray(len(secret) + 1) for _ in range(shares)]
    for share, x in zip(result, xs, strict=True):
        share[-1] = x
    for position, byte in enumerate(secret):
        coefficients = [byte, *secrets.token_bytes(threshold - 1)]
        for share, x in zip(result, xs, strict=True):
            share[position] = _evaluate(coefficients, x)
    return [bytes(share) for share in result]
