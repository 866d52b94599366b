import logging
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME

from mutualis.core.jobs import ResilientWorker, recover_stale_tasks

logger = logging.getLogger("mutualis.worker")


class Command(BaseCommand):
    help = (
        "Run the background worker: executes the jobs queued in the database "
        "(django-tasks-db's worker, kept running through database outages). Several "
        "workers may run side by side."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", action="store_true", help="Drain the queue, then exit.")
        parser.add_argument("--max-tasks", type=int, default=None)
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds to wait when the queue is empty before looking again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Tasks a killed worker left RUNNING are recovered by a periodic job too; doing it
        # here means a restarted lone worker does not wait for the scheduler.
        try:
            recover_stale_tasks()
        except DatabaseError as exc:
            logger.warning("Stale tasks not recovered at start: %s", exc)
        worker = ResilientWorker(
            queue_names=[DEFAULT_TASK_QUEUE_NAME],
            interval=options["interval"],
            batch=options["batch"],
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=not options["batch"],
            max_tasks=options["max_tasks"],
            worker_id=get_random_string(32),
            excluded_queue_names=[],
        )
        worker.configure_signals()
        worker.run()
