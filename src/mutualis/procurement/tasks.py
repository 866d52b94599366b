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


@task()
def send_immediate_alerts(consultation_id: int) -> int:
    from . import alerts

    return alerts.send_immediate_alerts(consultation_id=consultation_id)


@task()
def send_alert_digests() -> int:
    from . import alerts

    return alerts.send_daily_digests()


@task()
def archive_consultation_files(consultation_id: int, organisation_id: int) -> int | None:
    """Write the ZIP of a published consultation's current files once per version; the
    version archived (None: not public or no file)."""
    from . import archives

    archive = archives.archive_current_files(
        consultation_id=consultation_id, organisation_id=organisation_id
    )
    return archive.version if archive is not None else None


@task()
def archive_missing_consultations() -> int:
    """Catch-up: archive every public consultation whose current version has none (a
    job lost or failed); the number written."""
    from . import archives

    return archives.archive_missing()
