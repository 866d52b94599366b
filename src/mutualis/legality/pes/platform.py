"""What the accounting flows declare (imported by ``legality.platform``): the
accounting agent's role, the menu entry, the three periodic jobs."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry

from ..models import SERVICE
from . import selectors, tasks
from .models import ACCOUNTANT_ROLE

# The accounting agent acts on the treasury's behalf: a second factor is required. A
# role of its own: the finance department sends the flows, not the clerks who send acts.
registry.declare_role(
    registry.RoleDeclaration(
        ACCOUNTANT_ROLE,
        _("Accounting flows agent (imports and sends PES flows)"),
        62,
        service=SERVICE,
        requires_mfa=True,
    )
)


def _pes_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not selectors.is_accountant(membership):
        return None
    return reverse("legality:pes:flows", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(registry.MenuEntry("legality_pes", _("Accounting flows"), _pes_url, 41))

registry.declare_periodic_job(
    registry.PeriodicJob(
        "legality_deposit_pes",
        tasks.deposit_flows,
        IntervalTrigger(seconds=settings.MUTUALIS_LEGALITY_POLL_SECONDS),
        "Deposit the signed PES flows on the treasury's gateway, retrying with back-off.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "legality_collect_pes_acquits",
        tasks.collect_acknowledgements,
        IntervalTrigger(seconds=settings.MUTUALIS_LEGALITY_POLL_SECONDS),
        "Collect the treasury's PES_ACQUIT and PES_Retour from the gateway; quarantine "
        "what cannot be routed.",
    )
)
registry.declare_periodic_job(
    registry.PeriodicJob(
        "legality_deposit_pes_acquits_retour",
        tasks.deposit_acquits_retour,
        IntervalTrigger(seconds=settings.MUTUALIS_LEGALITY_POLL_SECONDS),
        "Deposit the members' PES_ACQUIT_RETOUR of the treasury's returns on the gateway, "
        "retrying with back-off.",
    )
)


def _seed_pes(stdout: Any) -> None:
    from . import demo

    demo.seed_pes(stdout)


registry.declare_demo_step(registry.Step("legality.pes", 41, _seed_pes))
