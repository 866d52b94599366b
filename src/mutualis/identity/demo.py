"""The identity context's demo data: the demo's agents and their second factors (a step
of ``mutualis seed_demo``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from mutualis.core.demo import DEMO_ACTOR, demo_organisation

from . import security, selectors, services

# (e-mail, password, first name, last name, [(organisation import key, roles)])
ACCOUNTS = [
    (
        "operateur@mutualis.localhost",
        "demo-operateur-2026",
        "Odile",
        "Perrin",
        [("operator", ["org_admin"])],
    ),
    (
        "mairie@dijon.localhost",
        "demo-dijon-2026",
        "Camille",
        "Bernard",
        [
            (
                "commune:21231",
                [
                    "org_admin",
                    "buyer",
                    "commission_member",
                    "legality_agent",
                    "legality_sender",
                    "legality_accountant",
                ],
            ),
            ("epci:242100410", ["buyer", "commission_member"]),
        ],
    ),
    (
        "secretariat@beaune.localhost",
        "demo-beaune-2026",
        "Lucas",
        "Moreau",
        [("commune:21054", ["org_admin", "secretary"])],
    ),
]
CITIZEN = ("habitant@exemple.localhost", "demo-citoyen-2026", "Inès", "Garnier")


@transaction.atomic
def seed_accounts(stdout: Any) -> None:
    lines = []
    second_factors = []
    for email, password, first, last, memberships in ACCOUNTS:
        user = services.ensure_user(
            email=email, password=password, first_name=first, last_name=last
        )
        orgs = {key: demo_organisation(key) for key, _roles in memberships}
        for key, roles in memberships:
            services.grant_membership(
                actor=DEMO_ACTOR, user=user, organisation=orgs[key], roles=roles
            )
        # A role of this account requires a second factor: a known authenticator-app
        # secret, printed below, lets a newcomer log in.
        if selectors.requires_mfa(user):
            secret = security.demo_totp_secret(email)
            security.enable_totp_for_demo(user=user, secret=secret)
            second_factors.append((email, secret, security.totp_uri(user=user, secret=secret)))
        where = ", ".join(f"{orgs[k].name} ({'/'.join(r)})" for k, r in memberships)
        lines.append((email, password, where))
    email, password, first, last = CITIZEN
    services.ensure_user(email=email, password=password, first_name=first, last_name=last)
    lines.append((email, password, "citizen (no organisation)"))

    stdout.write("\nDemo accounts (log in at /accounts/login/):")
    for email, password, where in lines:
        stdout.write(f"  {email:32} {password:22} {where}")
    if second_factors:
        stdout.write(
            "\nSecond factor (authenticator app) of the accounts whose role requires "
            "one: add the secret, or the otpauth:// address, to an authenticator app "
            "(e.g. FreeOTP, Aegis), then type its code after the password:"
        )
        for email, secret, uri in second_factors:
            stdout.write(f"  {email:32} {secret}\n  {'':32} {uri}")
