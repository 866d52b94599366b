"""Background jobs of the procurement context: each only calls services, and is
idempotent (the scheduler or a retry may run it twice)."""

from django_tasks import task

from . import services


@task()
def advance_consultations() -> dict[str, int]:
    return services.advance_due_consultations()


@task()
def notify_downloaders(
    consultation_id: int, organisation_id: int, kind: str, reference: int
) -> int:
    from . import questions

    return questions.notify_downloaders(
        consultation_id=consultation_id,
        organisation_id=organisation_id,
        kind=kind,
        reference=reference,
    )
