"""What the observatory context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

from . import tasks

# The territory's and each member's figures, and their CSV: public facts only.
registry.declare_routes(prefixes={"observatory:": Access.PUBLIC})
registry.declare_urls(registry.Urls("observatoire/", "mutualis.observatory.urls"))

# Every half hour, so that the figures shown are never more than an hour old, the
# refresh's own time included (a few seconds for 100,000 procedures, bench/RESULTS.md).
registry.declare_periodic_job(
    registry.PeriodicJob(
        "observatory_refresh",
        tasks.refresh_figures,
        IntervalTrigger(minutes=30),
        "Compute the purchasing observatory's figures anew from the public procedures and "
        "notified awards.",
    )
)


def _observatory_url(request: Any) -> str:
    return reverse("observatory:territory")


registry.declare_menu_entry(
    registry.MenuEntry("observatory", _("Observatory"), _observatory_url, 15)
)


def _refresh(stdout: Any) -> None:
    from django.utils.translation import gettext

    from .refresh import refresh_figures

    done = refresh_figures()
    stdout.write(
        gettext("Observatory: figures computed from %(count)s public procedures.")
        % {"count": done.procedures}
    )


# Last of the demo: after every context has seeded its procedures and awards.
registry.declare_demo_step(registry.Step("observatory.refresh", 990, _refresh))
