"""Background jobs of the deposits context; each only calls services and is idempotent
(the scheduler or a retry may run it twice)."""

from django_tasks import task

from . import services


@task()
def abandon_stale_deposits() -> int:
    """Deposits left receiving for 24 hours: abandoned, their partial files deleted."""
    return services.abandon_stale_deposits()


@task()
def probe_deposit_path() -> bool:
    """A synthetic deposit on the test consultation when a deadline is within the hour
    (availability.py); True when a probe ran."""
    from . import availability

    return availability.probe_if_a_deadline_is_near() is not None
