"""Rebuilding a consultation's opening key from its holders' shares.

Placeholder written by the opening's branch so that ``opening.py`` has something to call:
the lead keeps keys-ceremony's version at merge (holder enrolment, the opening key's
registration and the real ``shamir.py`` combiner live there). Same signature.
"""

from __future__ import annotations

from typing import Any

import pyrage  # type: ignore[import-untyped]  # no stubs (pyproject may list it at merge)

_POLYNOMIAL = 0x11B  # GF(2^8) as AES (and npm shamir-secret-sharing) defines it


def _mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= _POLYNOMIAL
        b >>= 1
    return product


def _inverse(a: int) -> int:
    result, power = 1, 254  # a^254 = a^-1 in GF(2^8)
    while power:
        if power & 1:
            result = _mul(result, a)
        a = _mul(a, a)
        power >>= 1
    return result


def _combine(shares: list[bytes]) -> bytes:
    """The secret of ``shares`` in npm shamir-secret-sharing's format: each share is the
    secret's length of y bytes, then its x coordinate (last byte)."""
    if len(shares) < 2 or len({len(s) for s in shares}) != 1 or len(shares[0]) < 2:
        raise ValueError("shares must be at least two, of the same length")
    xs = [share[-1] for share in shares]
    if len(set(xs)) != len(xs) or 0 in xs:
        raise ValueError("shares must have distinct, non-zero x coordinates")
    secret = bytearray(len(shares[0]) - 1)
    for j, share in enumerate(shares):
        # The Lagrange basis polynomial of x_j, at 0 (subtraction is XOR).
        basis = 1
        for m, x_m in enumerate(xs):
            if m != j:
                basis = _mul(basis, _mul(x_m, _inverse(x_m ^ xs[j])))
        for i in range(len(secret)):
            secret[i] ^= _mul(share[i], basis)
    return bytes(secret)


def rebuild_identity(shares: list[bytes], opening_key: Any) -> str:
    """The age identity (``AGE-SECRET-KEY-1…``) the shares rebuild, once checked against
    ``opening_key.recipient``; ``ValueError`` when they do not rebuild it."""
    try:
        text = _combine(shares).decode("ascii")
        identity = pyrage.x25519.Identity.from_str(text)
    except (UnicodeDecodeError, pyrage.IdentityError) as exc:
        raise ValueError("the shares do not rebuild an age identity") from exc
    if str(identity.to_public()) != opening_key.recipient:
        raise ValueError("the rebuilt key is not the consultation's opening key")
    return text
