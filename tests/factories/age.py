"""age files sealed by a passphrase, at a test-sized scrypt work factor.

rage (``pyrage.passphrase.encrypt``) chooses its work factor by timing the machine: about
a second of scrypt on an idle one, 2^20 here, and tens of seconds on a loaded one; the
browsers' age-encryption unlocks at that factor too (and refuses one over 20). Where the
work factor is not what a test is about, its holders' keys are sealed here instead: the
same format (age-encryption.org/v1, one ``scrypt`` stanza, HMAC'd header, STREAM payload
of ChaCha20-Poly1305 chunks), which rage, age and the browsers open, at 2^10.

What is about the work factor keeps its real value: the service's bounds on what a browser
enrols (``deposits.keys.SCRYPT_MIN_WORK``) are tested with such headers, and rage's own
output is read in ``test_deposits_keys.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

TEST_WORK_FACTOR = 10
_CHUNK = 64 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def passphrase_encrypt(
    plaintext: bytes, passphrase: str, *, work_factor: int = TEST_WORK_FACTOR
) -> bytes:
    """``plaintext`` in a binary age file whose one recipient is ``passphrase`` (scrypt,
    N = 2^work_factor), as ``pyrage.passphrase.encrypt`` makes it."""
    file_key = secrets.token_bytes(16)
    salt = secrets.token_bytes(16)
    wrapping_key = Scrypt(
        salt=b"age-encryption.org/v1/scrypt" + salt, length=32, n=2**work_factor, r=8, p=1
    ).derive(passphrase.encode())
    wrapped = ChaCha20Poly1305(wrapping_key).encrypt(bytes(12), file_key, None)
    header = (
        b"age-encryption.org/v1\n"
        + f"-> scrypt {_b64(salt)} {work_factor}\n{_b64(wrapped)}\n".encode()
        + b"---"
    )
    mac = hmac.new(_hkdf(file_key, b"", b"header"), header, hashlib.sha256).digest()
    nonce = secrets.token_bytes(16)
    payload = ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))
    chunks = [plaintext[i : i + _CHUNK] for i in range(0, len(plaintext), _CHUNK)] or [b""]
    body = b"".join(
        payload.encrypt(n.to_bytes(11, "big") + bytes([n == len(chunks) - 1]), chunk, None)
        for n, chunk in enumerate(chunks)
    )
    return header + f" {_b64(mac)}\n".encode() + nonce + body


def armored_passphrase_encrypt(
    plaintext: bytes, passphrase: str, *, work_factor: int = TEST_WORK_FACTOR
) -> bytes:
    """The same file in age's ASCII armor, as ``pyrage.passphrase.encrypt(…,
    armored=True)`` gives it (bytes)."""
    from mutualis.deposits import key_formats

    sealed = passphrase_encrypt(plaintext, passphrase, work_factor=work_factor)
    return key_formats.armor(sealed).encode()
