"""One schedule, one scheduler at a time, idempotent jobs."""

import pytest
from django.core.management import call_command

from mutualis.core.schedule import schedule
from mutualis.core.singleton import SingletonLock


def test_the_schedule_declares_the_periodic_jobs():
    names = {job.name for job in schedule()}
    assert {"audit_checkpoint", "retry_due_emails"} <= names


# In the test's transaction: the lock is taken on a connection of its own (PostgreSQL's
# advisory lock) or on a file (SQLite), never on the test's.
@pytest.mark.django_db
def test_only_one_scheduler_holds_the_lock(settings, tmp_path):
    settings.MUTUALIS_SCHEDULER_LOCK_FILE = tmp_path / "scheduler.lock"
    first, second = SingletonLock(), SingletonLock()
    try:
        assert first.acquire()
        assert not second.acquire()
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()


# Transactional: the scheduler closes the stale connections around each job it enqueues,
# which a test's transaction would not survive.
@pytest.mark.django_db(transaction=True)
def test_scheduler_once_enqueues_every_job(settings, tmp_path, capsys):
    settings.MUTUALIS_SCHEDULER_LOCK_FILE = tmp_path / "scheduler.lock"
    call_command("scheduler", "--once")
    assert f"Enqueued {len(schedule())} periodic jobs." in capsys.readouterr().out


# In the test's transaction: refused the lock, the scheduler stops before any job.
@pytest.mark.django_db
def test_a_second_scheduler_enqueues_nothing_while_the_first_runs(settings, tmp_path, capsys):
    settings.MUTUALIS_SCHEDULER_LOCK_FILE = tmp_path / "scheduler.lock"
    holder = SingletonLock()
    assert holder.acquire()
    try:
        call_command("scheduler", "--once")
        assert "Another scheduler holds the lock" in capsys.readouterr().err
    finally:
        holder.release()
