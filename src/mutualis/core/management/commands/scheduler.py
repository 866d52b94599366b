import logging
import time
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from mutualis.core.schedule import schedule
from mutualis.core.singleton import SingletonLock

logger = logging.getLogger("mutualis.scheduler")


def _enqueue(job_name: str, task: Any) -> None:
    close_old_connections()
    try:
        task.enqueue()
        logger.info("Enqueued %s", job_name)
    finally:
        close_old_connections()


class Command(BaseCommand):
    help = (
        "Enqueue the periodic jobs of the platform on their schedule. Only one scheduler "
        "runs at a time; another one waits as a stand-by until the lock is free."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Enqueue every periodic job once, then exit (needs the lock too).",
        )
        parser.add_argument(
            "--standby-interval",
            type=float,
            default=15.0,
            help="Seconds between two attempts to take the lock while another runs.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        lock = SingletonLock()
        while not lock.acquire():
            if options["once"]:
                self.stderr.write("Another scheduler holds the lock; nothing enqueued.")
                return
            logger.info("Another scheduler runs; waiting as a stand-by.")
            time.sleep(options["standby_interval"])
        try:
            jobs = schedule()
            if options["once"]:
                for job in jobs:
                    _enqueue(job.name, job.task)
                self.stdout.write(f"Enqueued {len(jobs)} periodic jobs.")
                return
            scheduler = BlockingScheduler(timezone="Europe/Paris")
            for job in jobs:
                scheduler.add_job(
                    _enqueue,
                    job.trigger,
                    args=[job.name, job.task],
                    id=job.name,
                    name=job.description,
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=30,
                )
            self.stdout.write(f"Scheduler started with {len(jobs)} periodic jobs.")
            scheduler.start()
        finally:
            lock.release()
