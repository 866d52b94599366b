"""Background jobs of the platform core (Django's tasks API, django-tasks backport).

Each job only calls services and is idempotent: the scheduler or a retry may run it twice.
"""

from django_tasks import task

from . import audit, jobs, mail


@task()
def send_outgoing_email(email_id: int) -> str:
    email = mail.deliver(email_id)
    return email.status if email else "skipped"


@task()
def retry_due_emails() -> int:
    mail.fail_abandoned_emails()
    ids = mail.due_email_ids()
    for email_id in ids:
        mail.deliver(email_id)
    return len(ids)


@task()
def audit_checkpoint() -> int:
    return len(audit.checkpoint_all_chains())


@task()
def recover_stale_tasks() -> dict[str, int]:
    return jobs.recover_stale_tasks()
