"""Background jobs of the legality context: each only calls the context's functions, and
is idempotent (the scheduler or a retry may run it twice)."""

from django_tasks import task

from . import mailbox, returns, transmission


@task()
def send_acts() -> dict[str, int | str]:
    return transmission.send_due_acts()


@task()
def read_returns() -> dict[str, int]:
    box = mailbox.open_mailbox()
    try:
        return returns.read_mailbox(box)
    finally:
        box.close()
