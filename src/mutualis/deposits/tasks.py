"""Background jobs of the deposits context; each only calls services and is idempotent
(the scheduler or a retry may run it twice)."""

from django_tasks import task

from . import services


@task()
def abandon_stale_deposits() -> int:
    """Deposits left receiving for 24 hours: abandoned, their partial files deleted."""
    return services.abandon_stale_deposits()
