"""Background jobs of the legality context; each only calls services and is idempotent
(a retry may run it twice)."""

from django_tasks import task

from . import correspondence, mailbox, outbox, publication, returns, transmission, webhooks


@task()
def stamp_acknowledged_act(*, organisation_id: int, act_id: int) -> str:
    """Stamp an acknowledged act's PDF and make its slip (``publication.stamp_act``)."""
    stamp = publication.stamp_act(organisation_id=organisation_id, act_id=act_id)
    return stamp.file.sha256 if stamp is not None else ""


@task()
def send_acts() -> dict[str, int | str]:
    """Send the waiting acts, then the member's other waiting messages (answers,
    cancellations, classification requests)."""
    counts = transmission.send_due_acts()
    for key, value in outbox.send_due_messages().items():
        counts[f"messages_{key}"] = value
    return counts


@task()
def read_returns() -> dict[str, int]:
    box = mailbox.open_mailbox()
    try:
        return returns.read_mailbox(box)
    finally:
        box.close()


@task()
def remind_letters() -> int:
    """Remind the members' agents of the prefecture's letters whose answer is due."""
    return correspondence.remind()


@task()
def deliver_webhooks() -> dict[str, int]:
    return webhooks.deliver_due()
