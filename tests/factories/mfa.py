"""Second factors for test people whose roles require one (see mutualis.identity.mfa)."""

from __future__ import annotations

import time

import pyotp

from mutualis.identity.security import enable_totp_for_demo

# A known authenticator-app secret (base32), so that a test can compute the codes.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PERIOD = 30


def give_authenticator_app(user, secret: str = TOTP_SECRET):
    """Set up an authenticator app for ``user``, as if done in the browser."""
    return enable_totp_for_demo(user=user, secret=secret)


def totp_code(secret: str = TOTP_SECRET, *, margin: float = 3.0) -> str:
    """The code the authenticator app shows now, with at least ``margin`` seconds of its
    30-second period left: allauth accepts the current period only, and a code read just
    before the period turns would be refused by the time it is posted."""
    left = PERIOD - time.time() % PERIOD
    if left < margin:
        time.sleep(left + 0.1)
    return pyotp.TOTP(secret).now()
