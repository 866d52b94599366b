"""Background jobs of the ocds context: each only calls services, and is idempotent (the
scheduler or a retry may run it twice)."""

from __future__ import annotations

from django_tasks import task

from . import services


@task()
def snapshot_procedure(consultation_id: int) -> str | None:
    """Store a release of the procedure if what is public about it changed; its id."""
    release = services.snapshot_procedure(consultation_id=consultation_id)
    return release.release_id if release is not None else None


@task()
def snapshot_award_procedure(award_id: int) -> str | None:
    release = services.snapshot_award_procedure(award_id=award_id)
    return release.release_id if release is not None else None


@task()
def reconcile_releases() -> int:
    return services.reconcile()


@task()
def write_bulk_files() -> int:
    from . import bulk

    return bulk.write_bulk_files()
