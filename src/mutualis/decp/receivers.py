"""The DECP listens to the contracts: every committed change of a contract (notification
receipt, amendment…) regenerates its entry in a background job."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from mutualis.contracts.signals import contract_changed


@receiver(contract_changed, dispatch_uid="decp.refresh_entry")
def refresh_on_contract_change(
    sender: Any, *, contract_id: int, organisation_id: int, **kwargs: Any
) -> None:
    from . import tasks

    tasks.refresh_entry.enqueue(organisation_id=organisation_id, contract_id=contract_id)
