"""``mutualis setup``: every release step, in order; safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mutualis.core.release import release_steps


class Command(BaseCommand):
    help = (
        "Run every release step in order: migrations, cache table, instance identifier, "
        "missing keys (never rotated), reference data. Idempotent: run it on every release."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--list", action="store_true", help="List the steps without running them."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])
        for step in release_steps():
            if options["list"]:
                self.stdout.write(f"{step.name}: {step.description}")
                continue
            if verbosity:
                self.stdout.write(self.style.MIGRATE_HEADING(f"== {step.name}: {step.description}"))
            step.run(self.stdout, verbosity)
