"""What the integrity context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

from . import selectors, tasks

# The buyer's page, under /o/<slug>/integrity/: its buyers and administrators.
registry.declare_routes(prefixes={"integrity:": Access.TENANT})
registry.declare_urls(registry.Urls("integrity/", "mutualis.integrity.urls", tenant="o"))
# Every buyer's figures, for operator staff, beside the back office (which is above this
# context and does not know it).
registry.declare_routes(prefixes={"integrity_operator:": Access.OPERATOR})
registry.declare_urls(registry.Urls("operator/integrity/", "mutualis.integrity.operator_urls"))


def _section(request: Any, consultation: Any) -> dict[str, Any] | None:
    from . import views

    return views.section_context(request, consultation)


registry.declare_consultation_section(
    registry.ConsultationSection("integrity_flags", "buyer", "integrity/section.html", _section, 90)
)


def _buyer_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not selectors.can_read(membership):
        return None
    return reverse("integrity:home", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(
    registry.MenuEntry("integrity", _("Integrity indicators"), _buyer_url, 60)
)

# Every night: the indicators are computed from the day's records (a run replaces the
# previous one whole, so a run repeated changes nothing).
registry.declare_periodic_job(
    registry.PeriodicJob(
        "integrity_compute_indicators",
        tasks.compute_indicators,
        CronTrigger(hour=3, minute=40),
        "Compute the integrity indicators of every buyer and the flags of its procedures.",
    )
)


def _compute(stdout: Any) -> None:
    from . import computation

    run = computation.compute()
    stdout.write(
        gettext("Integrity indicators: %(flags)s flags on %(procedures)s procedures.")
        % {"flags": run.flags, "procedures": run.procedures}
    )


# After every step that writes procedures, offers and awards (the observatory's too).
registry.declare_demo_step(registry.Step("integrity.indicators", 991, _compute))
