"""The one schedule of periodic jobs, enqueued by the `mutualis scheduler` process.

Every job is idempotent: a job enqueued twice (two schedulers during a failover, a
retry) does the same work once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import tasks


@dataclasses.dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any
    trigger: BaseTrigger
    description: str


def schedule() -> list[PeriodicJob]:
    return [
        PeriodicJob(
            "audit_checkpoint",
            tasks.audit_checkpoint,
            IntervalTrigger(minutes=1),
            "Sign the head of every audit chain that moved.",
        ),
        PeriodicJob(
            "retry_due_emails",
            tasks.retry_due_emails,
            IntervalTrigger(minutes=1),
            "Send queued e-mails whose next attempt is due (back-off after SMTP failures).",
        ),
        PeriodicJob(
            "clear_expired_oidc_tokens",
            tasks.clear_expired_oidc_tokens,
            CronTrigger(hour=3, minute=17),
            "Delete expired OpenID Connect codes and tokens.",
        ),
    ]
