"""Background jobs of the DECP context; each only calls services and is idempotent (a
retry may run it twice)."""

from __future__ import annotations

from django_tasks import task

from . import bulk, clock, connector, crossings, entries


@task()
def refresh_entry(*, organisation_id: int, contract_id: int) -> int:
    """Generate a contract's entry after a ``contract_changed`` (its version, or 0)."""
    entry = entries.refresh_entry(organisation_id=organisation_id, contract_id=contract_id)
    return entry.version if entry is not None else 0


@task()
def sweep_entries() -> int:
    """Generate the entries a lost signal left missing, and again the incomplete ones.
    The number of entries written or checked."""
    done = 0
    for contract_id, organisation_id in crossings.contracts_to_refresh():
        if entries.refresh_entry(organisation_id=organisation_id, contract_id=contract_id):
            done += 1
    return done


@task()
def remind_buyers() -> int:
    return clock.remind()


@task()
def write_bulk_files() -> int:
    return len(bulk.write_daily())


@task()
def push_to_portal() -> dict[str, int]:
    return connector.push()
