"""Background jobs of the accounting flows; each only calls ``sending`` and is
idempotent (a retry may run it twice)."""

from django_tasks import task

from . import sending


@task()
def deposit_flows() -> dict[str, int | str]:
    return sending.deposit_due_flows()


@task()
def collect_acknowledgements() -> dict[str, int | str]:
    return sending.collect_acknowledgements()


@task()
def deposit_acquits_retour() -> dict[str, int | str]:
    return sending.deposit_due_acquits_retour()
