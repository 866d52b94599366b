"""Print the life of a consultation (``procurement/transitions.py``) as a Markdown table,
the one in docs/architecture.md: the table is rendered from the code, never drawn by
hand (a test compares them)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from mutualis.procurement.transitions import TRANSITIONS


def markdown() -> str:
    lines = ["| state | event | next state |", "|---|---|---|"]
    for (before, event), after in TRANSITIONS.items():
        lines.append(f"| `{before.value}` | `{event.value}` | `{after.value}` |")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print the transition table of consultations as Markdown (for docs/architecture.md)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(markdown(), ending="")
