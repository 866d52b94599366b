"""The platform's Ed25519 key that signs audit checkpoints."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils.translation import gettext

from .chain import CHECKPOINT_FORMAT, LEGACY_CHECKPOINT_FORMAT, canonical_json


def load_signing_key() -> Ed25519PrivateKey:
    """The platform's Ed25519 key: from MUTUALIS_AUDIT_SIGNING_KEY (PEM) or its file."""
    pem = settings.MUTUALIS_AUDIT_SIGNING_KEY
    if not pem:
        path = Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH)
        if not path.exists():
            raise FileNotFoundError(
                gettext(
                    "No audit signing key: set MUTUALIS_AUDIT_SIGNING_KEY or create %(path)s "
                    "with `mutualis init_keys`."
                )
                % {"path": path}
            )
        pem = path.read_text()
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(gettext("The audit signing key must be an Ed25519 private key."))
    return key


def generate_signing_key(path: Path) -> bool:
    """Write a new Ed25519 key to ``path`` unless one is there; True if written."""
    path = Path(path)
    if path.exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written aside then linked into place: a crash or a second process running
    # init_keys at the same time never leaves a half-written key behind.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            return False
    finally:
        partial.unlink(missing_ok=True)
    return True


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(
    chain: str, sequence: int, hash_: str, signed_at: str, instance: str | None = None
) -> bytes:
    """The bytes a checkpoint signature covers.

    With ``instance`` (format 2) the signature binds the checkpoint to the instance that
    signed it: a line copied from another instance's file and relabelled with this
    instance's identifier fails verification. Without it, the format 1 of checkpoints
    signed before instances were named.
    """
    if instance is None:
        return canonical_json([LEGACY_CHECKPOINT_FORMAT, chain, sequence, hash_, signed_at])
    return canonical_json([CHECKPOINT_FORMAT, instance, chain, sequence, hash_, signed_at])


# --- Problems --------------------------------------------------------------------------
