"""Background jobs of the contracts context; each only calls its module and is
idempotent (the scheduler or a retry may run it twice)."""

from __future__ import annotations

from django_tasks import task


@task()
def purge_past_retention() -> int:
    """Purge the files of the applications and tenders not retained, past retention."""
    from . import retention

    return retention.purge_due()


@task()
def build_archive_package(package_id: int) -> str | None:
    """Write the ZIP of an archive package or export; its stored file's identifier."""
    from . import archive

    return archive.build(package_id)
