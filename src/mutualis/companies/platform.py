"""What the companies context declares (see ``mutualis.core.registry``)."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

from . import crossings, tasks

registry.declare_routes(
    prefixes={
        # Businesses' own pages, under /c/<siren>/: the company named in the path.
        "companies:": Access.TENANT,
        # The sign-up by SIRET is open to anyone (it asks visitors to sign in); whoever
        # holds a colleague's invitation link sees the company and the role, and
        # accepting needs the account of the invited address.
        "business:": Access.PUBLIC,
        # Core's download view, for files a company may read (their owner kind says).
        "company_files:": Access.TENANT,
    }
)


def representation_in(request: Any, siren: str) -> Any:
    """The person's active representation of the company named in the path, if any."""
    for representation in crossings.representations_of_user(request.user):
        if representation.company.siren == siren:
            return representation
    return None


def company_spaces(user: Any) -> list[tuple[str, str]]:
    return [
        (r.company.name, reverse("companies:home", kwargs={"company": r.company.siren}))
        for r in crossings.representations_of_user(user)
    ]


registry.declare_tenant_kind(
    registry.TenantKind(
        prefix="c",
        url_kwarg="company",
        converter="str",
        dimension="company",
        attribute="representation",
        resolve=representation_in,
        scope_id=lambda representation: representation.company_id,
        spaces=company_spaces,
    )
)

registry.declare_urls(registry.Urls("companies/", "mutualis.companies.urls"))
registry.declare_urls(registry.Urls("", "mutualis.companies.tenant_urls", tenant="c"))
registry.declare_urls(registry.Urls("files/", "mutualis.companies.file_urls", tenant="c"))


registry.declare_periodic_job(
    registry.PeriodicJob(
        "vault_expiry_reminders",
        tasks.send_vault_expiry_reminders,
        CronTrigger(hour=7, minute=10),
        "Remind companies' representatives of vault documents about to expire "
        "(MUTUALIS_VAULT_REMINDER_DAYS), once per threshold.",
    )
)


def _company_url(request: Any) -> str | None:
    representation = getattr(request, "representation", None)
    if representation is None:
        return None
    return reverse("companies:home", kwargs={"company": representation.company.siren})


registry.declare_menu_entry(registry.MenuEntry("company", _("My business"), _company_url, 20))


def _seed_business(stdout: Any) -> None:
    from . import demo

    demo.seed_business(stdout)


registry.declare_demo_step(registry.Step("companies.business", 30, _seed_business))


def _seed_bidders(stdout: Any) -> None:
    from . import demo

    demo.seed_bidders(stdout)


registry.declare_demo_step(registry.Step("companies.bidders", 31, _seed_bidders))
