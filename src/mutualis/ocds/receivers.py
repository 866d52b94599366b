"""Receivers of procurement's and contracts' signals (sent once the change committed):
each enqueues the job that snapshots the procedure, never builds a release in the
request that made the change."""

from __future__ import annotations

from typing import Any


def on_consultation_changed(sender: Any, *, consultation_id: int, **kwargs: Any) -> None:
    """``consultation_published``, ``rectification_published``, ``award_changed``."""
    from .tasks import snapshot_procedure

    snapshot_procedure.enqueue(consultation_id=consultation_id)


def on_contract_changed(sender: Any, *, award_id: int, **kwargs: Any) -> None:
    """``contract_changed``: the contract names its award."""
    from .tasks import snapshot_award_procedure

    snapshot_award_procedure.enqueue(award_id=award_id)
