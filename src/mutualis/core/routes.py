"""Who may reach each route: the classification a test checks against every URL.

A route nobody classified makes ``tests/integration/test_tenancy_walk.py`` fail, so that
a new page is never published without someone deciding who may see it.
"""

from __future__ import annotations

import enum


class Access(enum.Enum):
    PUBLIC = "public"  # anyone, public facts only
    ACCOUNT = "account"  # a signed-in person, about their own account only
    TENANT = "tenant"  # a member's agents, scoped to the current organisation
    OPERATOR = "operator"  # operator staff only


# Exact route names (with namespace) of the project's own apps.
ROUTES: dict[str, Access] = {
    "core:home": Access.PUBLIC,
    "core:switch_organisation": Access.ACCOUNT,
    "core:organisation_audit": Access.TENANT,
    "core:service_home": Access.TENANT,
    "set_language": Access.PUBLIC,
    # Every stored file: the view asks the file's owner kind (mutualis.core.files.owners),
    # and answers 404 when it refuses; members' logos are one public kind.
    "core:file_download": Access.PUBLIC,
    # Why the person must set up a second factor: about their own account only.
    "identity:mfa_required": Access.ACCOUNT,
    # Shown once the account is deleted and the person logged out: no personal data.
    "my_account:deleted": Access.PUBLIC,
    # Businesses: the sign-up by SIRET is open to anyone (it asks visitors to sign in);
    # whoever holds a colleague's invitation link sees the company and the role, and
    # accepting needs the account of the invited address; the switcher is the person's.
    "companies:signup": Access.PUBLIC,
    "companies:invitation": Access.PUBLIC,
    "companies:switch": Access.ACCOUNT,
}

# Whole namespaces or name prefixes classified at once, each for a stated reason.
PREFIXES: dict[str, Access] = {
    # The operator back office: every view is guarded by operator_required.
    "backoffice:": Access.OPERATOR,
    # The public directory and the public API: public facts about organisations.
    "directory:": Access.PUBLIC,
    "api:": Access.PUBLIC,
    # Businesses' own pages: scoped to the company the person represents.
    "companies:": Access.TENANT,
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
}


def classify(name: str) -> Access | None:
    if name in ROUTES:
        return ROUTES[name]
    for prefix, access in PREFIXES.items():
        if name.startswith(prefix):
            return access
    return None
