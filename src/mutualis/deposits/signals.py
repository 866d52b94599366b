"""What the deposits context tells others, once the transaction that did it has committed
(``mutualis.procurement.signals.send_on_commit``'s pattern)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# A deposit was acknowledged: its files durable, its receipt time-stamped and logged.
# Sent with ``deposit_id``. The receipt PDF and its e-mail are made on it.
deposit_acknowledged = Signal()
# A deposit was withdrawn by its company before the deadline. Sent with ``deposit_id``.
deposit_withdrawn = Signal()


def send_on_commit(signal: Signal, **kwargs: Any) -> None:
    transaction.on_commit(lambda: signal.send(sender="deposits", **kwargs))
