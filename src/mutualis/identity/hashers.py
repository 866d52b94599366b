"""The hash of OpenID Connect client secrets: one SHA-256.

allauth stores a client secret with Django's password hasher, so every token request
verified one Argon2 hash (a few per second per core). A slow hash protects secrets
people choose; a client secret is 256 random bits that the platform generates
(:func:`new_client_secret`), which no guessing reaches, so one SHA-256 of it is as safe.

The hasher is listed last in ``PASSWORD_HASHERS`` so that stored secrets verify
(``check_password`` finds a hasher by the prefix of the hash). It is never the default,
hence never used for a password nor for upgrading one; the user model refuses a password
hash of this kind anyway (``User.check_password``). Secrets hashed before with Argon2 keep
verifying until they are renewed.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.hashers import BasePasswordHasher, make_password
from django.utils.crypto import constant_time_compare

SECRET_BYTES = 32  # 256 bits


def new_client_secret() -> str:
    """A new client secret: 256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_client_secret(secret: str) -> str:
    """What a client's ``secret`` column stores for a secret made by new_client_secret."""
    return make_password(secret, hasher=ClientSecretSHA256Hasher.algorithm)


class ClientSecretSHA256Hasher(BasePasswordHasher):
    algorithm = "client_secret_sha256"

    def salt(self) -> str:
        # Unsalted on purpose: salts defend chosen secrets against precomputed tables; a
        # 256-bit random secret is in no table.
        return ""

    def encode(self, password: str, salt: str) -> str:
        digest = hashlib.sha256(password.encode()).hexdigest()
        return f"{self.algorithm}${digest}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, digest = encoded.split("$", 1)
        assert algorithm == self.algorithm  # noqa: S101
        return {"algorithm": algorithm, "hash": digest, "salt": ""}

    def verify(self, password: str, encoded: str) -> bool:
        return constant_time_compare(self.encode(password, ""), encoded)

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        return {"algorithm": self.algorithm, "hash": encoded.split("$", 1)[1][:6] + "…"}

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
