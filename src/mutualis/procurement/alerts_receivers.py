"""What alerts do when the procurement context says a consultation was published
(``signals.py``, sent once committed): enqueue the immediate alerts' delivery, so that
the buyer's request never waits for the matching."""

from __future__ import annotations

from typing import Any


def on_consultation_published(sender: Any, *, consultation_id: int, **kwargs: Any) -> None:
    from .tasks import send_immediate_alerts

    send_immediate_alerts.enqueue(consultation_id=consultation_id)
