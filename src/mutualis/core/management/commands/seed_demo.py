"""Demo data on top of the imported territory: each context's demo step, in order."""

from typing import Any

from django.core.management.base import BaseCommand

from mutualis.core import crossings, registry


class Command(BaseCommand):
    help = "Create the demo operator, members, subscriptions and accounts (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo writes for every member at once, like a release step; each step runs
        # its own transactions (some call durable services).
        with crossings.for_every_member():
            for step in registry.demo_steps():
                step.run(self.stdout)
