"""``mutualis init_oidc_key``: create (or rotate) the OpenID Connect signing key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from allauth.core.internal.jwkkit import load_jwk_from_pem
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from mutualis.identity import oidc


def _kid(pem: str) -> str:
    return str(load_jwk_from_pem(pem)[0]["kid"])


def _replace(path: Path, pem: str) -> None:
    """Write ``pem`` to ``path`` atomically (a temporary file renamed over it)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    oidc.write_private_key(temporary, pem)
    os.replace(temporary, path)


class Command(BaseCommand):
    help = (
        "Create the RSA key that signs OpenID Connect ID tokens, at "
        "MUTUALIS_OIDC_PRIVATE_KEY_PATH, unless it exists. With --rotate, keep the current "
        "key as the previous one (still published, so that tokens it signed verify) and "
        "sign with a new one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the signing key; the current key becomes the previous key.",
        )
        parser.add_argument("--bits", type=int, default=oidc.RSA_KEY_BITS, help="RSA key size.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH)
        previous_path = Path(settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH)
        if settings.MUTUALIS_OIDC_PRIVATE_KEY:
            if options["rotate"]:
                raise CommandError(
                    "The signing key comes from MUTUALIS_OIDC_PRIVATE_KEY: rotate it where "
                    "that secret is kept (set the old key as MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY)."
                )
            self.stdout.write("The signing key comes from MUTUALIS_OIDC_PRIVATE_KEY.")
            return
        if options["bits"] < 2048:
            raise CommandError("An RSA key of fewer than 2048 bits is not safe.")
        if not path.exists():
            oidc.write_private_key(path, oidc.new_private_key_pem(options["bits"]))
            self.stdout.write(f"Created {path} (kid {_kid(path.read_text())}).")
            return
        if not options["rotate"]:
            self.stdout.write(f"{path} exists (kid {_kid(path.read_text())}).")
            return
        current = path.read_text()
        new = oidc.new_private_key_pem(options["bits"])
        # The current key is copied to the previous path first: at every moment a signing
        # key exists, and the key being retired is published before the new one signs.
        _replace(previous_path, current)
        _replace(path, new)
        self.stdout.write(
            f"Rotated: {path} now signs (kid {_kid(new)}); {previous_path} keeps the "
            f"previous key (kid {_kid(current)}), published until you delete it."
        )
