"""What the legality context tells its own modules, once the change is committed.

- ``act_acknowledged(act_id, organisation_id)``: the prefecture acknowledged an act
  (ARActe recorded): the stamped PDF and the acknowledgement slip can be made.

Sent from ``transaction.on_commit``: a receiver never sees a change that was rolled
back, and a failing receiver never undoes it. Receivers are connected from ``apps.py``.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

act_acknowledged = Signal()


def send_on_commit(signal: Signal, **kwargs: object) -> None:
    transaction.on_commit(lambda: signal.send(sender="legality", **kwargs))
