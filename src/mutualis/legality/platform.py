"""What the legality context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.registry import Access

from . import selectors, tasks
from .api import router as api_router
from .models import AGENT_ROLE, SENDER_ROLE, SERVICE
from .pes import platform as _pes_platform  # noqa: F401 - the accounting flows' declarations

registry.declare_routes(prefixes={"legality:": Access.TENANT})
# The API for the members' software (/api/v1/legality/…).
register_router("", api_router)
registry.declare_urls(registry.Urls("legality/", "mutualis.legality.urls", tenant="o"))
# The verification page an acknowledged act's QR code leads to: public facts of that act.
registry.declare_routes(prefixes={"legality_public:": Access.PUBLIC})
registry.declare_urls(registry.Urls("actes/", "mutualis.legality.public_urls"))

# The catalogue's row (created by core's migration) is this context's from now on: its
# home is the acts list. The accounting flows (PES) come in a later slice.
registry.declare_service(
    registry.ServiceDeclaration(
        SERVICE,
        _("Legality control and accounting flows"),
        _("Transmission of acts to the prefecture (@ctes) and of PES flows to the treasury."),
        20,
        home="legality:acts",
    )
)

# Both roles act on the prefecture's behalf: a second factor is required.
registry.declare_role(
    registry.RoleDeclaration(
        AGENT_ROLE, _("Legality agent (prepares acts)"), 60, service=SERVICE, requires_mfa=True
    )
)
registry.declare_role(
    registry.RoleDeclaration(
        SENDER_ROLE, _("Legality sender (sends acts)"), 61, service=SERVICE, requires_mfa=True
    )
)


def _legality_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not (
        selectors.is_legality_agent(membership) or membership.has_role("org_admin")
    ):
        return None
    return reverse("legality:acts", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(
    registry.MenuEntry("legality", _("Legality control"), _legality_url, 40)
)


def _seed_legality(stdout: Any) -> None:
    from . import demo

    demo.seed_legality(stdout)


registry.declare_demo_step(registry.Step("legality.acts", 40, _seed_legality))


# The network: the waiting acts leave, the prefecture's answers are read (every
# MUTUALIS_LEGALITY_POLL_SECONDS; a few seconds in the demo).
registry.declare_periodic_job(
    registry.PeriodicJob(
        "legality_send_acts",
        tasks.send_acts,
        IntervalTrigger(seconds=settings.MUTUALIS_LEGALITY_POLL_SECONDS),
        "Send the waiting acts' packages to the ministry, retrying with back-off.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "legality_read_returns",
        tasks.read_returns,
        IntervalTrigger(seconds=settings.MUTUALIS_LEGALITY_POLL_SECONDS),
        "Read the prefecture's answers from the return mailbox; quarantine what cannot be routed.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "legality_letter_reminders",
        tasks.remind_letters,
        CronTrigger(hour=7, minute=20),
        "Remind the members' legality agents of the prefecture's letters whose answer is due "
        "within a week, then once more on the due date.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "legality_deliver_webhooks",
        tasks.deliver_webhooks,
        IntervalTrigger(seconds=settings.MUTUALIS_LEGALITY_POLL_SECONDS),
        "Post the acts' status changes to the members' webhooks, retrying with back-off.",
    )
)
