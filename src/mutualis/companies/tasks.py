"""Background jobs of the companies context; each only calls services and is idempotent
(the scheduler or a retry may run it twice)."""

from django_tasks import task

from .services import vault


@task()
def send_vault_expiry_reminders() -> int:
    return vault.send_expiry_reminders()
