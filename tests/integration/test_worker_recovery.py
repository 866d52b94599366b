"""The background worker outlives database outages and recovers the jobs of a killed
worker (issue 12, Trust II)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone
from django_scopes import scopes_disabled
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from mutualis.core import audit, jobs
from mutualis.core.models import AuditEvent
from mutualis.core.tasks import audit_checkpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _running_task(*, started_minutes_ago: int, starts: int) -> DBTaskResult:
    result = audit_checkpoint.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=started_minutes_ago),
        worker_ids=[f"killed-{n}" for n in range(starts)],
    )
    return DBTaskResult.objects.get(pk=result.id)


def _platform_actions() -> list[str]:
    with scopes_disabled():
        return list(
            AuditEvent.objects.filter(chain=audit.PLATFORM_CHAIN)
            .order_by("sequence")
            .values_list("action", flat=True)
        )


def test_a_task_left_running_by_a_killed_worker_runs_again(database_tasks, settings):
    settings.MUTUALIS_TASK_STALE_SECONDS = 600
    settings.MUTUALIS_TASK_MAX_ATTEMPTS = 3
    stale = _running_task(started_minutes_ago=11, starts=1)
    recent = _running_task(started_minutes_ago=2, starts=1)

    assert jobs.recover_stale_tasks() == {"requeued": 1, "failed": 0}

    stale.refresh_from_db()
    recent.refresh_from_db()
    assert stale.status == TaskResultStatus.READY
    assert recent.status == TaskResultStatus.RUNNING  # its worker may still be at it
    assert _platform_actions() == ["task.recovered"]
    # A worker then runs it to the end.
    call_command("worker", "--batch")
    stale.refresh_from_db()
    assert stale.status == TaskResultStatus.SUCCESSFUL


def test_a_task_that_kept_killing_its_workers_is_failed(database_tasks, settings):
    settings.MUTUALIS_TASK_STALE_SECONDS = 600
    settings.MUTUALIS_TASK_MAX_ATTEMPTS = 3
    stale = _running_task(started_minutes_ago=30, starts=3)

    assert jobs.recover_stale_tasks() == {"requeued": 0, "failed": 1}

    stale.refresh_from_db()
    assert stale.status == TaskResultStatus.FAILED
    assert stale.exception_class_path == jobs.ABANDONED
    assert _platform_actions() == ["task.abandoned"]
    # Idempotent: nothing more on a second run.
    assert jobs.recover_stale_tasks() == {"requeued": 0, "failed": 0}


def test_the_worker_survives_a_database_error_and_goes_on(database_tasks, monkeypatch):
    # Given a queued job and a database that fails once (PostgreSQL restarting)
    result = audit_checkpoint.enqueue()
    real_ready = DBTaskResult.objects.ready
    calls = {"n": 0}

    def flaky_ready():
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_ready()

    monkeypatch.setattr(DBTaskResult.objects, "ready", flaky_ready)
    monkeypatch.setattr("mutualis.core.jobs.time.sleep", lambda seconds: None)

    # When the worker drains the queue
    call_command("worker", "--batch")

    # Then it did not exit on the error: the job ran
    assert calls["n"] >= 2
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.SUCCESSFUL


def test_recovery_is_a_periodic_job():
    from mutualis.core.schedule import schedule

    assert "recover_stale_tasks" in {job.name for job in schedule()}
