"""What the contracts context tells the contexts above it, once the change is committed.

Sent from ``transaction.on_commit`` (``send_on_commit``): a receiver (the OCDS releases,
the DECP) never sees a change that was rolled back, and a failing receiver never undoes
the change.

- ``award_changed(award_id, organisation_id, consultation_id, action)``: an award was
  decided, notified (letters sent), its standstill ended, or it was abandoned; ``action``
  is the audit action recorded (``contracts.award_notified``…).
- ``contract_changed(contract_id, organisation_id, award_id, action)``: a contract was
  signed, its notification sent or its receipt confirmed, its execution started,
  completed or terminated, or an amendment appended.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

award_changed = Signal()
contract_changed = Signal()


def send_on_commit(signal: Signal, **kwargs: object) -> None:
    """Send ``signal`` (sender: the contracts context) once the current transaction
    commits; at once outside a transaction."""
    transaction.on_commit(lambda: signal.send(sender="contracts", **kwargs))
