"""Create the platform's Ed25519 key that signs the audit checkpoints."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from mutualis.core import audit


class Command(BaseCommand):
    help = "Create the audit signing key (Ed25519) if it is missing; idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.MUTUALIS_AUDIT_SIGNING_KEY:
            self.stdout.write(
                gettext(
                    "The audit signing key comes from MUTUALIS_AUDIT_SIGNING_KEY: nothing to do."
                )
            )
            return
        path = Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH)
        created = audit.generate_signing_key(path)
        try:
            key = audit.load_signing_key()
        except (ValueError, TypeError) as exc:
            raise CommandError(
                gettext("%(path)s holds no usable key: %(error)s") % {"path": path, "error": exc}
            ) from exc
        values = {"path": path, "key_id": audit.key_id(key.public_key())}
        if created:
            message = gettext("Created the audit signing key %(path)s (key id %(key_id)s).")
        else:
            message = gettext(
                "The audit signing key %(path)s is already there (key id %(key_id)s)."
            )
        self.stdout.write(message % values)
        # A key others can read lets them forge checkpoints, and so hide a cut chain.
        if path.stat().st_mode & 0o077:
            self.stderr.write(
                self.style.WARNING(
                    gettext("%(path)s can be read by other users: run chmod 600 on it.")
                    % {"path": path}
                )
            )
