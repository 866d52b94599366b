"""Demo data on top of the imported territory: each context's demo step, in order."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mutualis.core import crossings, registry


class Command(BaseCommand):
    help = "Create the demo operator, members, subscriptions and accounts (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo's passwords and authenticator secrets are published (README, and the
        # secret derives from the address): on a real instance they would open its
        # accounts, operator staff's included.
        if not settings.MUTUALIS_DEMO:
            raise CommandError(
                "Refused: this instance is not configured as a demo, and the demo "
                "accounts' passwords and authenticator secrets are public. Run it only "
                "on a demo instance (the built-in SECRET_KEY), or set MUTUALIS_DEMO=true "
                "if this instance is really not in production."
            )
        # The demo writes for every member at once, like a release step; each step runs
        # its own transactions (some call durable services).
        with crossings.for_every_member():
            skipped = set(settings.MUTUALIS_DEMO_SKIP_STEPS)
            for step in registry.demo_steps():
                if step.name not in skipped:
                    step.run(self.stdout)
