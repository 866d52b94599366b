"""Background jobs of the integrity context; each only calls the computation and is
idempotent (a run replaces the previous run's rows whole)."""

from django_tasks import task

from . import computation


@task()
def compute_indicators() -> dict[str, int]:
    """Recompute every buyer's integrity indicators and its procedures' flags."""
    run = computation.compute()
    return {"procedures": run.procedures, "flags": run.flags, "buyers": run.buyers}
