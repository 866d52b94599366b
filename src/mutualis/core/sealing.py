"""Sealing small secrets the database must hold but must not show: symmetric encryption
(Fernet: AES-128-CBC and HMAC-SHA256) under keys derived from ``SECRET_KEY``, which the
database never holds. A reader of a backup gets ciphertext.

Each purpose derives its own key (``salted_hmac`` with the purpose as salt), so that a
token sealed for one use cannot be opened as another. ``SECRET_KEY_FALLBACKS`` still open
what was sealed before a rotation: keep the old key there until every sealed value was
written again (docs/operations.md, "Rotating SECRET_KEY").
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac


def sealer(purpose: str, value: str = "fernet") -> MultiFernet:
    """The Fernet keys of ``purpose``: the current ``SECRET_KEY``'s first (it seals), then
    those of its fallbacks (they only open)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(purpose, value, secret=key, algorithm="sha256").digest()
                )
            )
            for key in keys
        ]
    )
