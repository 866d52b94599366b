from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Run the background worker: executes the jobs queued in the database "
        "(django-tasks-db's db_worker). Several workers may run side by side."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", action="store_true", help="Drain the queue, then exit.")
        parser.add_argument("--max-tasks", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        extra: dict[str, Any] = {"batch": options["batch"], "reload": False}
        if options["max_tasks"] is not None:
            extra["max_tasks"] = options["max_tasks"]
        call_command("db_worker", **extra)
