"""What the procurement context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

from . import tasks

registry.declare_routes(
    prefixes={
        # The buyer's pages, under /o/<slug>/procurement/: buyers of the member in the path.
        "procurement:": Access.TENANT,
        # The portal of published consultations and the CPV picker: public facts only.
        "consultations:": Access.PUBLIC,
        "procurement_reference:": Access.PUBLIC,
    }
)
registry.declare_urls(registry.Urls("procurement/", "mutualis.procurement.tenant_urls", tenant="o"))
registry.declare_urls(registry.Urls("consultations/", "mutualis.procurement.urls"))
registry.declare_urls(registry.Urls("procurement/", "mutualis.procurement.reference_urls"))

registry.declare_service(
    registry.ServiceDeclaration(
        "procurement",
        _("Public procurement (buyer profile)"),
        _("Publication of consultations, sealed electronic tenders, opening, award."),
        10,
        home="procurement:list",
    )
)
registry.declare_role(
    registry.RoleDeclaration("buyer", _("Buyer"), 20, service="procurement", requires_mfa=True)
)
registry.declare_role(
    registry.RoleDeclaration(
        "commission_member", _("Commission member"), 30, service="procurement", requires_mfa=True
    )
)

registry.declare_periodic_job(
    registry.PeriodicJob(
        "advance_consultations",
        tasks.advance_consultations,
        IntervalTrigger(minutes=1),
        "Publish the scheduled consultations whose time came; close those past their deadline.",
    )
)


def _consultations_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.has_role("buyer"):
        return None
    return reverse("procurement:list", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(
    registry.MenuEntry("procurement", _("Consultations"), _consultations_url, 30)
)


def _public_url(request: Any) -> str | None:
    # The one public address of every tender of the territory, for everyone.
    return reverse("consultations:list")


registry.declare_menu_entry(
    registry.MenuEntry("public_consultations", _("Public contracts"), _public_url, 5)
)


def _buyer_profile(organisation: Any) -> dict[str, Any] | None:
    from . import crossings

    consultations = crossings.recent_public_consultations_of(organisation.pk)
    if not consultations:
        return None
    return {"consultations": consultations, "organisation": organisation, "now": timezone.now()}


registry.declare_page_section(
    registry.PageSection(
        "procurement", "procurement/section_buyer_profile.html", _buyer_profile, 20
    )
)


def _seed_consultations(stdout: Any) -> None:
    from . import demo

    demo.seed_consultations(stdout)


# After the accounts (identity.accounts, 20): the demo's buyers act.
registry.declare_demo_step(registry.Step("procurement.consultations", 40, _seed_consultations))


# --- Alerts -----------------------------------------------------------------------------

registry.declare_routes(
    prefixes={
        # A person's own alerts, signed in: another person's alert is 404.
        "alerts:": Access.ACCOUNT,
        # The unsubscribe link of an alert's e-mails and its feed: each holds its secret.
        "alert_links:": Access.PUBLIC,
    }
)
registry.declare_urls(registry.Urls("alerts/", "mutualis.procurement.alerts_urls"))
registry.declare_urls(registry.Urls("alerts/", "mutualis.procurement.alert_links_urls"))
registry.declare_periodic_job(
    registry.PeriodicJob(
        "send_alert_digests",
        tasks.send_alert_digests,
        CronTrigger(hour=7, minute=0, timezone="Europe/Paris"),
        "Send each daily alert the new consultations it matches (idempotent).",
    )
)


def _alerts_url(request: Any) -> str | None:
    if not request.user.is_authenticated:
        return None
    return reverse("alerts:list")


registry.declare_menu_entry(registry.MenuEntry("alerts", _("My alerts"), _alerts_url, 6))
