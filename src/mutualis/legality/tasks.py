"""Background jobs of the legality context; each only calls services and is idempotent
(a retry may run it twice)."""

from django_tasks import task

from . import mailbox, publication, returns, transmission, webhooks


@task()
def stamp_acknowledged_act(*, organisation_id: int, act_id: int) -> str:
    """Stamp an acknowledged act's PDF and make its slip (``publication.stamp_act``)."""
    stamp = publication.stamp_act(organisation_id=organisation_id, act_id=act_id)
    return stamp.file.sha256 if stamp is not None else ""


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


@task()
def deliver_webhooks() -> dict[str, int]:
    return webhooks.deliver_due()
