"""The second factor's secrets are sealed in the database (``core.sealing``).

django-allauth stores an authenticator app's TOTP secret and the seed of the recovery
codes in ``mfa_authenticator.data``, in clear unless the adapter encrypts them: a reader
of a database backup could then compute anyone's codes. Sealed values carry a prefix;
a value without it is one stored before sealing (migration ``identity.0010`` seals
those), and is read as it is.
"""

from __future__ import annotations

from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import InvalidToken

from mutualis.core.sealing import sealer

PREFIX = "sealed:"
PURPOSE = "mutualis.identity.mfa.secrets"


def seal(text: str) -> str:
    return PREFIX + sealer(PURPOSE).encrypt(text.encode()).decode()


def unseal(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored
    try:
        return sealer(PURPOSE).decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "A second-factor secret cannot be opened with SECRET_KEY or its fallbacks: "
            "was SECRET_KEY rotated without keeping the old one in SECRET_KEY_FALLBACKS?"
        ) from exc


class MFAAdapter(DefaultMFAAdapter):  # type: ignore[misc]
    def encrypt(self, text: str) -> str:
        return seal(text)

    def decrypt(self, encrypted_text: str) -> str:
        return unseal(encrypted_text)
