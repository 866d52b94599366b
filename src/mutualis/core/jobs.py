"""The background worker's own safety nets: stale claims recovered, database outages
survived.

django-tasks-db marks a task row RUNNING when a worker takes it and finished when the
task returns. A worker killed in between (out of memory, a deploy, a power cut) leaves
the row RUNNING forever: nothing would ever run it again. ``recover_stale_tasks`` gives
such rows back to the queue after MUTUALIS_TASK_STALE_SECONDS, or marks them failed once
they have been started MUTUALIS_TASK_MAX_ATTEMPTS times (a task that kills its worker
each time must not do so forever). Every job is idempotent (see ``core.tasks``), so a
job run again after a worker died half-way does its work once.

``ResilientWorker`` is django-tasks-db's worker, which stops on any database error but a
lock: an unreachable database (a PostgreSQL restart) or a lock held too long must make
the worker wait and try again, not exit.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from . import audit

logger = logging.getLogger(__name__)

ABANDONED = "mutualis.core.jobs.TaskAbandoned"


def recover_stale_tasks(*, now: datetime | None = None) -> dict[str, int]:
    """Give back to the queue the tasks whose worker died while running them (RUNNING
    for longer than MUTUALIS_TASK_STALE_SECONDS), or fail those already started
    MUTUALIS_TASK_MAX_ATTEMPTS times. Each decision is audited on the platform's chain."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.MUTUALIS_TASK_STALE_SECONDS)
    stale = list(
        DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, started_at__lt=cutoff
        ).values_list("id", "task_path", "worker_ids", "started_at")
    )
    counts = {"requeued": 0, "failed": 0}
    for task_id, task_path, worker_ids, started_at in stale:
        attempts = len(worker_ids)
        # Conditional on the start time read above: if the row moved meanwhile (its
        # worker finished after all, or another recovery took it), nothing is changed.
        row = DBTaskResult.objects.filter(
            pk=task_id, status=TaskResultStatus.RUNNING, started_at=started_at
        )
        payload = {"task_id": str(task_id), "task": task_path, "attempts": attempts}
        with transaction.atomic():
            if attempts >= settings.MUTUALIS_TASK_MAX_ATTEMPTS:
                changed = row.update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    return_value=None,
                    exception_class_path=ABANDONED,
                    traceback=(
                        f"Abandoned: started {attempts} times, each time by a worker that "
                        "stopped before finishing it."
                    ),
                )
                action, outcome = "task.abandoned", "failed"
            else:
                changed = row.update(status=TaskResultStatus.READY, started_at=None)
                action, outcome = "task.recovered", "requeued"
            if changed:
                audit.record(
                    actor=audit.SYSTEM,
                    chain=audit.PLATFORM_CHAIN,
                    action=action,
                    payload=payload,
                )
                counts[outcome] += 1
                logger.warning(
                    "Stale task %s (%s) %s after %s starts.", task_id, task_path, outcome, attempts
                )
    return counts


class ResilientWorker(Worker):
    """django-tasks-db's worker loop, restarted after a database error instead of ending
    the process; waits grow from one second to a minute while the database is away."""

    def run(self) -> None:
        delay = 1.0
        while self.running:
            started = time.monotonic()
            try:
                super().run()
                return
            except DatabaseError as exc:
                if time.monotonic() - started > 60:
                    delay = 1.0  # a new outage after a good run starts from a short wait
                logger.warning(
                    "Worker %s: database error (%s); trying again in %.0f s.",
                    self.worker_id,
                    exc,
                    delay,
                )
                # Drops a connection the error left unusable: the next query opens one.
                close_old_connections()
                time.sleep(delay)
                delay = min(delay * 2, 60.0)
                # Each restart of the loop would wait a random startup delay again.
                self.startup_delay = False
