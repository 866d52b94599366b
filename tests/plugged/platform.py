"""Everything the test-only context brings, declared from its own package: routes, a
tenant page under each kind of party, a periodic job, a crossing (crossings.py), a role,
a menu entry and a service. No file of core changes for it."""

from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from django.urls import reverse

from mutualis.core import registry
from mutualis.core.registry import Access

from . import tasks

registry.declare_routes(
    prefixes={
        "plugged:": Access.TENANT,
        "plugged_company:": Access.TENANT,
        "plugged_public:": Access.PUBLIC,
    }
)
registry.declare_urls(registry.Urls("plugged/", "tests.plugged.urls_organisation", tenant="o"))
registry.declare_urls(registry.Urls("plugged/", "tests.plugged.urls_company", tenant="c"))
registry.declare_urls(registry.Urls("plugged-public/", "tests.plugged.urls_public"))
registry.declare_periodic_job(
    registry.PeriodicJob(
        "plugged_count_notes",
        tasks.count_notes,
        IntervalTrigger(hours=1),
        "Count every member's notes.",
    )
)
registry.declare_service(
    registry.ServiceDeclaration(
        "plugged", "Notes (test)", "A service of the tests.", 900, home="plugged:notes"
    )
)
registry.declare_role(
    registry.RoleDeclaration("plugged_editor", "Notes editor", 900, service="plugged")
)


def _notes_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.has_role("plugged_editor"):
        return None
    return reverse("plugged:notes", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(registry.MenuEntry("plugged", "Notes", _notes_url, 500))
