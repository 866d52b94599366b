"""What the platform core declares, like any context (see ``registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import registry, tasks
from .registry import Access

registry.declare_routes(
    exact={
        "core:home": Access.PUBLIC,
        # The pages every user is owed: legal notices, accessibility, help, prerequisites.
        "core:legal": Access.PUBLIC,
        "core:accessibility": Access.PUBLIC,
        "core:help": Access.PUBLIC,
        "core:prerequisites": Access.PUBLIC,
        "core:clock": Access.PUBLIC,
        "core:sample": Access.PUBLIC,
        "set_language": Access.PUBLIC,
        # Every stored file: the view asks the file's owner kind (core.files.owners) and
        # answers 404 when it refuses; members' logos are one public kind.
        "core:file_download": Access.PUBLIC,
    },
    prefixes={
        # An organisation's own pages (its services, its audit trail), under /o/<slug>/.
        "organisation:": Access.TENANT,
        # The API for programs: its operations check their own clients and scopes.
        "api:": Access.PUBLIC,
        # The same download view, for files an organisation may read (its owner kind says).
        "organisation_files:": Access.TENANT,
    },
)

registry.declare_urls(registry.Urls("", "mutualis.core.urls", order=10))
registry.declare_urls(registry.Urls("", "mutualis.core.tenant_urls", tenant="o"))
registry.declare_urls(registry.Urls("i18n/", "django.conf.urls.i18n"))


def _api_urls() -> Any:
    # Read when the URLconf is built, once every context attached its router.
    from .api import api

    return api.urls


registry.declare_urls(registry.Urls("api/v1/", _api_urls))
registry.declare_urls(registry.Urls("files/", "mutualis.core.files.tenant_urls", tenant="o"))

registry.declare_periodic_job(
    registry.PeriodicJob(
        "audit_checkpoint",
        tasks.audit_checkpoint,
        IntervalTrigger(minutes=1),
        "Sign the head of every audit chain that moved.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "retry_due_emails",
        tasks.retry_due_emails,
        IntervalTrigger(minutes=1),
        "Send queued e-mails whose next attempt is due (back-off after SMTP failures).",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "recover_stale_tasks",
        tasks.recover_stale_tasks,
        IntervalTrigger(minutes=5),
        "Run again the jobs a killed worker left running (after MUTUALIS_TASK_STALE_SECONDS).",
    )
)


def _audit_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.has_role("org_admin"):
        return None
    return reverse("organisation:audit", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(registry.MenuEntry("audit", _("Audit trail"), _audit_url, 80))


def _services_section(organisation: Any) -> dict[str, Any] | None:
    from . import crossings

    return {"subscriptions": crossings.active_subscriptions_public(organisation.pk)}


registry.declare_page_section(
    registry.PageSection("services", "core/section_services.html", _services_section, 10)
)


def _seed_members(stdout: Any) -> None:
    from . import demo

    demo.seed_members(stdout)


registry.declare_demo_step(registry.Step("core.members", 10, _seed_members))


def _sync_catalogue(stdout: Any) -> None:
    from . import catalogue

    catalogue.run_setup_step(stdout)


registry.declare_setup_step(
    registry.Step(
        "core.catalogue", 50, _sync_catalogue, _("bring the services the code declares in line")
    )
)
