"""What the procurement context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.api import register_router
from mutualis.core.registry import Access

from . import api_documents, api_writes, tasks  # noqa: F401  (their operations join api.router)
from .api import router as api_router

registry.declare_routes(
    prefixes={
        # The buyer's pages, under /o/<slug>/procurement/: buyers of the member in the path.
        "procurement:": Access.TENANT,
        # The portal of published consultations and the CPV picker: public facts only.
        "consultations:": Access.PUBLIC,
        "procurement_reference:": Access.PUBLIC,
        # A company's own lines of the download registers, under /c/<siren>/procurement/.
        "company_procurement:": Access.TENANT,
    }
)
registry.declare_urls(registry.Urls("procurement/", "mutualis.procurement.tenant_urls", tenant="o"))
registry.declare_urls(registry.Urls("consultations/", "mutualis.procurement.urls"))
registry.declare_urls(registry.Urls("procurement/", "mutualis.procurement.reference_urls"))
registry.declare_urls(
    registry.Urls("procurement/", "mutualis.procurement.company_urls", tenant="c")
)
# The public consultations in the platform's API (/api/v1/consultations, …).
register_router("", api_router)

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


def _group_purchases(organisation: Any) -> dict[str, Any] | None:
    from . import crossings

    purchases = crossings.public_group_purchases_of(organisation.pk)
    if not purchases:
        return None
    return {"group_purchases": purchases, "organisation": organisation, "now": timezone.now()}


# A member's buyer profile also lists the group purchases it takes part in (groups.py).
registry.declare_page_section(
    registry.PageSection(
        "procurement_group_purchases",
        "procurement/section_group_purchases.html",
        _group_purchases,
        21,
    )
)


def _connect_group_purchases() -> None:
    from . import groups, signals

    signals.consultation_published.connect(
        groups.on_published, dispatch_uid="procurement.groups.on_published"
    )


_connect_group_purchases()


def _seed_workspace(stdout: Any) -> None:
    from . import demo_workspace

    demo_workspace.seed(stdout)


# After the consultations (40): a group purchase and the library.
registry.declare_demo_step(registry.Step("procurement.workspace", 41, _seed_workspace))


def _company_downloads_url(request: Any) -> str | None:
    representation = getattr(request, "representation", None)
    if representation is None:
        return None
    return reverse(
        "company_procurement:downloads", kwargs={"company": representation.company.siren}
    )


registry.declare_menu_entry(
    registry.MenuEntry("company_downloads", _("Consultations followed"), _company_downloads_url, 35)
)


def _seed_questions(stdout: Any) -> None:
    from . import demo

    demo.seed_questions(stdout)


# After the consultations and the demo business (companies.business, 30).
registry.declare_demo_step(registry.Step("procurement.questions", 45, _seed_questions))


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


def _seed_archives(stdout: Any) -> None:
    from . import demo

    demo.seed_archives(stdout)


# Last of procurement's steps: every published consultation's files are in place.
registry.declare_demo_step(registry.Step("procurement.archives", 49, _seed_archives))


registry.declare_periodic_job(
    registry.PeriodicJob(
        "archive_missing_consultations",
        tasks.archive_missing_consultations,
        IntervalTrigger(minutes=15),
        "Write the ZIP of any published version whose archiving job was lost (idempotent).",
    )
)
