"""The one schedule of periodic jobs, enqueued by the `mutualis scheduler` process.

Each context declares its jobs from its ``platform`` module
(``registry.declare_periodic_job``); the scheduler enqueues them all. Every job is
idempotent: a job enqueued twice (two schedulers during a failover, a retry) does the
same work once.
"""

from __future__ import annotations

from .registry import PeriodicJob, periodic_jobs


def schedule() -> list[PeriodicJob]:
    return periodic_jobs()


__all__ = ["PeriodicJob", "schedule"]
