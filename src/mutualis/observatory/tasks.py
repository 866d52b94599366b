"""Background jobs of the observatory; idempotent (a second run computes the same
figures under a new refresh)."""

from django_tasks import task

from . import refresh


@task()
def refresh_figures() -> int:
    """Compute the observatory's figures anew; the number of procedures counted."""
    return refresh.refresh_figures().procedures
