"""What the ocds context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.registry import Access

from . import tasks
from .api import router as api_router

# The OCDS releases and records in the platform's API (/api/v1/ocds/…): public facts.
register_router("", api_router)
# The bulk files' page: public.
registry.declare_routes(prefixes={"ocds:": Access.PUBLIC})
registry.declare_urls(registry.Urls("donnees-ouvertes/ocds/", "mutualis.ocds.urls"))

registry.declare_periodic_job(
    registry.PeriodicJob(
        "ocds_reconcile_releases",
        tasks.reconcile_releases,
        IntervalTrigger(minutes=10),
        "Store an OCDS release of every procedure changed without a signal (closed,"
        " cancelled) or whose job was lost, since the last run.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "ocds_write_bulk_files",
        tasks.write_bulk_files,
        CronTrigger(hour=1, minute=30, timezone="UTC"),
        "Write the gzip OCDS release packages of each finished day and of every release.",
    )
)
