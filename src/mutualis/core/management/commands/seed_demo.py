"""Demo data on top of the imported territory: the operator, members, accounts."""

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mutualis.core import audit, crossings
from mutualis.core.models import FeeCategory, Organisation, Service, Subscription
from mutualis.identity import security as identity_security
from mutualis.identity import selectors as identity_selectors
from mutualis.identity import services as identity

DEMO_ACTOR = audit.SystemActor("seed_demo")

# (e-mail, password, first name, last name, [(organisation source key, roles)])
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
        [("commune:21231", ["org_admin", "buyer"]), ("epci:242100410", ["buyer"])],
    ),
    (
        "secretariat@beaune.localhost",
        "demo-beaune-2026",
        "Lucas",
        "Moreau",
        [("commune:21054", ["org_admin", "secretary"])],
    ),
]

# The other kinds of people: a citizen, and a business representative whose (fictitious)
# company registers by SIRET.
CITIZEN = ("habitant@exemple.localhost", "demo-citoyen-2026", "Inès", "Garnier")
BUSINESS = ("gerant@menuiserie.localhost", "demo-entreprise-2026", "Hugo", "Lambert")
DEMO_SIRET = "83274165600017"
DEMO_COMPANY = "Menuiserie Lambert (démo)"

MEMBERS = ["commune:21231", "commune:21054", "epci:242100410", "departement:21", "region:27"]


class Command(BaseCommand):
    help = "Create the demo operator, members, subscriptions and accounts (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with crossings.for_every_member(), transaction.atomic():
            operator = self._operator()
            orgs = {"operator": operator}
            for key in {k for _, _, _, _, ms in ACCOUNTS for k, _ in ms} | set(MEMBERS):
                if key == "operator":
                    continue
                org = Organisation.objects.filter(source_key=key).first()
                if org is None:
                    raise CommandError(
                        f"{key} is missing: run `mutualis import_territory --region 27` first."
                    )
                orgs[key] = org
            for key in MEMBERS:
                self._make_member(orgs[key])
            lines = []
            second_factors = []
            for email, password, first, last, memberships in ACCOUNTS:
                user = identity.ensure_user(
                    email=email, password=password, first_name=first, last_name=last
                )
                for key, roles in memberships:
                    identity.grant_membership(
                        actor=DEMO_ACTOR, user=user, organisation=orgs[key], roles=roles
                    )
                # A role of this account requires a second factor: a known authenticator-app
                # secret, printed below, lets a newcomer log in.
                if identity_selectors.requires_mfa(user):
                    secret = identity_security.demo_totp_secret(email)
                    identity_security.enable_totp_for_demo(user=user, secret=secret)
                    uri = identity_security.totp_uri(user=user, secret=secret)
                    second_factors.append((email, secret, uri))
                where = ", ".join(f"{orgs[k].name} ({'/'.join(r)})" for k, r in memberships)
                lines.append((email, password, where))
        lines += self._citizen_and_business()
        self.stdout.write(self.style.SUCCESS("\nDemo accounts (log in at /accounts/login/):"))
        for email, password, where in lines:
            self.stdout.write(f"  {email:32} {password:22} {where}")
        if second_factors:
            self.stdout.write(
                self.style.SUCCESS(
                    "\nSecond factor (authenticator app) of the accounts whose role requires "
                    "one: add the secret, or the otpauth:// address, to an authenticator app "
                    "(e.g. FreeOTP, Aegis), then type its code after the password:"
                )
            )
            for email, secret, uri in second_factors:
                self.stdout.write(f"  {email:32} {secret}\n  {'':32} {uri}")

    def _citizen_and_business(self) -> list[tuple[str, str, str]]:
        from mutualis.companies import services as companies
        from mutualis.companies.models import Company

        email, password, first, last = CITIZEN
        identity.ensure_user(email=email, password=password, first_name=first, last_name=last)
        lines = [(email, password, "citizen (no organisation)")]
        email, password, first, last = BUSINESS
        user = identity.ensure_user(
            email=email, password=password, first_name=first, last_name=last
        )
        # Companies are the tenants of their own rows: checking that the demo company is
        # there crosses them, like the rest of this command.
        with crossings.for_every_member():
            registered = Company.objects.filter(siren=DEMO_SIRET[:9]).exists()
        if not registered:
            companies.sign_up_with_siret(
                user=user, siret=DEMO_SIRET, name=DEMO_COMPANY, site_url="http://localhost:8000"
            )
        lines.append((email, password, f"{DEMO_COMPANY}, SIRET {DEMO_SIRET} (administrator)"))
        return lines

    def _operator(self) -> Organisation:
        operator, created = Organisation.objects.get_or_create(
            slug=settings.MUTUALIS_OPERATOR_SLUG,
            defaults={
                "name": "Mutualis — groupement d'intérêt public",
                "kind": "operator",
                "adhesion_status": "member",
            },
        )
        if created:
            audit.record(actor=DEMO_ACTOR, action="organisation.created", target=operator)
        return operator

    def _make_member(self, org: Organisation) -> None:
        category = self._fee_category(org)
        if org.adhesion_status != "member":
            org.adhesion_status = "member"
            org.adhesion_since = date(2024, 1, 1)
            org.fee_category = category
            org.save(update_fields=["adhesion_status", "adhesion_since", "fee_category"])
            audit.record(
                actor=DEMO_ACTOR,
                organisation=org,
                action="organisation.adhesion_changed",
                target=org,
                payload={"to": "member", "fee_category": category.code},
            )
        for service in Service.objects.filter(code__in=["procurement", "signature"]):
            _, created = Subscription.objects.get_or_create(
                organisation=org, service=service, defaults={"since": date(2024, 1, 1)}
            )
            if created:
                audit.record(
                    actor=DEMO_ACTOR,
                    organisation=org,
                    action="subscription.created",
                    target=org,
                    payload={"service": service.code},
                )

    @staticmethod
    def _fee_category(org: Organisation) -> FeeCategory:
        if org.kind == "commune":
            population = org.population or 0
            code = (
                "commune-under-500"
                if population < 500
                else "commune-500-3500"
                if population <= 3500
                else "commune-over-3500"
            )
        elif org.is_epci:
            code = "epci"
        elif org.kind in ("departement", "region"):
            code = "departement-region"
        else:
            code = "other"
        return FeeCategory.objects.get(code=code)
