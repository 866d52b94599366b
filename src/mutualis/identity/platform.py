"""What the identity context declares (see ``mutualis.core.registry``): accounts, the
organisations' agents and their roles, the single sign-on provider."""

from __future__ import annotations

from typing import Any

from apscheduler.triggers.cron import CronTrigger
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mutualis.core import registry
from mutualis.core.registry import Access

from . import crossings, tasks

registry.declare_routes(
    exact={
        # Why the person must set up a second factor: about their own account only.
        "identity:mfa_required": Access.ACCOUNT,
        # Shown once the account is deleted and the person logged out: no personal data.
        "my_account:deleted": Access.PUBLIC,
    },
    prefixes={
        # An organisation's administrators manage its members, in its scope.
        "members:": Access.TENANT,
        # Invitation links: whoever holds the link sees the organisation and the roles;
        # accepting needs the account of the invited address.
        "invitations:": Access.PUBLIC,
        # The person's own account beyond allauth's pages (the deletion request).
        "my_account:": Access.ACCOUNT,
        # django-allauth: sign-in, sign-up, the person's own e-mail, password and MFA.
        "account_": Access.ACCOUNT,
        "mfa_": Access.ACCOUNT,
        # allauth's OpenID Connect provider: protocol endpoints, authenticated by the protocol.
        "idp:": Access.PUBLIC,
    },
)


# --- Organisations in the path: /o/<slug>/… -------------------------------------------


def membership_in(request: Any, slug: str) -> Any:
    """The person's active membership of the organisation named in the path, if any."""
    for membership in crossings.memberships_of_user(request.user):
        if membership.organisation.slug == slug:
            return membership
    return None


def organisation_spaces(user: Any) -> list[tuple[str, str]]:
    return [
        (m.organisation.name, reverse("organisation:home", kwargs={"org": m.organisation.slug}))
        for m in crossings.memberships_of_user(user)
    ]


registry.declare_tenant_kind(
    registry.TenantKind(
        prefix="o",
        url_kwarg="org",
        converter="slug",
        dimension="organisation",
        attribute="membership",
        resolve=membership_in,
        scope_id=lambda membership: membership.organisation_id,
        spaces=organisation_spaces,
    )
)

registry.declare_urls(registry.Urls("accounts/", "mutualis.identity.account_urls", order=20))
registry.declare_urls(registry.Urls("accounts/", "allauth.urls", order=21))
registry.declare_urls(registry.Urls("accounts/security/", "mutualis.identity.urls", order=22))
registry.declare_urls(registry.Urls("", "mutualis.identity.oidc_urls", order=23))
registry.declare_urls(registry.Urls("invitations/", "mutualis.identity.invitation_urls"))
registry.declare_urls(registry.Urls("members/", "mutualis.identity.member_urls", tenant="o"))

registry.declare_periodic_job(
    registry.PeriodicJob(
        "clear_expired_oidc_tokens",
        tasks.clear_expired_oidc_tokens,
        CronTrigger(hour=3, minute=17),
        "Delete expired OpenID Connect codes and tokens.",
    )
)

# Roles of every member, whatever its services. A service declares its own roles
# (``service=`` its code): administrators are offered them only where it is subscribed.
for code, label, position in (
    ("org_admin", _("Organisation administrator"), 10),
    ("signatory", _("Signatory / elected official"), 40),
    ("secretary", _("Secretary"), 50),
):
    registry.declare_role(registry.RoleDeclaration(code, label, position))


def _members_url(request: Any) -> str | None:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.has_role("org_admin"):
        return None
    return reverse("members:list", kwargs={"org": membership.organisation.slug})


registry.declare_menu_entry(registry.MenuEntry("members", _("Members"), _members_url, 90))


def _seed_accounts(stdout: Any) -> None:
    from . import demo

    demo.seed_accounts(stdout)


registry.declare_demo_step(registry.Step("identity.accounts", 20, _seed_accounts))


def _sync_roles(stdout: Any) -> None:
    from . import roles

    roles.run_setup_step(stdout)


def _oidc_key(stdout: Any) -> None:
    from django.core.management import call_command

    # Created when missing, never rotated (``init_oidc_key --rotate`` is the operator's).
    call_command("init_oidc_key", stdout=stdout)


registry.declare_setup_step(
    registry.Step(
        "identity.oidc_key", 40, _oidc_key, _("create the OpenID Connect signing key if missing")
    )
)
# After the catalogue (core.catalogue, 50): a role may name a service.
registry.declare_setup_step(
    registry.Step("identity.roles", 60, _sync_roles, _("bring the roles the code declares in line"))
)
