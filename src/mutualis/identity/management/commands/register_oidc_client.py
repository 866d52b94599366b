"""``mutualis register_oidc_client``: register an application that signs in through the
platform (until the back office has its page)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.urls import reverse

from mutualis.core.errors import MutualisError
from mutualis.core.models import Organisation
from mutualis.identity import oidc_clients

from ._actor import add_actor_argument, resolve_actor


def _organisation_id(reference: str | None) -> int | None:
    if not reference:
        return None
    found = Organisation.objects.filter(Q(siren=reference) | Q(slug=reference)).first()
    if found is None:
        raise CommandError(f"No organisation has the SIREN or address name {reference!r}.")
    return found.pk


def _company_id(siren: str | None) -> int | None:
    if not siren:
        return None
    # By name through the app registry: identity imports no other context.
    company = apps.get_model("companies", "Company").objects.filter(siren=siren).first()
    if company is None:
        raise CommandError(f"No company has the SIREN {siren!r}.")
    return int(company.pk)


class Command(BaseCommand):
    help = (
        "Register an OpenID Connect client. Prints its client id and, for a confidential "
        "client, its secret: shown once, stored hashed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="Name shown on the consent page.")
        parser.add_argument(
            "--redirect-uri",
            action="append",
            default=[],
            dest="redirect_uris",
            metavar="URI",
            help="Redirect (callback) address; repeatable.",
        )
        parser.add_argument(
            "--post-logout-redirect-uri",
            action="append",
            default=[],
            dest="post_logout_redirect_uris",
            metavar="URI",
            help="Address to return to after logging out; repeatable.",
        )
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            metavar="SCOPE",
            help="Allowed scope; repeatable (default: openid email profile organisations).",
        )
        parser.add_argument(
            "--grant-type",
            action="append",
            dest="grant_types",
            metavar="GRANT",
            choices=[str(g) for g in oidc_clients.GRANT_TYPES],
            help="Allowed grant; repeatable (default: authorization_code refresh_token).",
        )
        parser.add_argument(
            "--public",
            action="store_true",
            help="A client that cannot keep a secret (browser or native app): PKCE, no secret.",
        )
        parser.add_argument(
            "--skip-consent",
            action="store_true",
            help="Do not ask people for their consent (the operator's own tools).",
        )
        parser.add_argument(
            "--organisation",
            metavar="SIREN_OR_SLUG",
            help="API client (scopes api:read, api:write): the member organisation it acts for.",
        )
        parser.add_argument(
            "--company",
            metavar="SIREN",
            help="API client (scopes api:read, api:write): the company it acts for.",
        )
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = resolve_actor(options["actor"], "register_oidc_client")
        try:
            client, secret = oidc_clients.register_client(
                actor=actor,
                name=options["name"],
                redirect_uris=options["redirect_uris"],
                post_logout_redirect_uris=options["post_logout_redirect_uris"],
                scopes=options["scopes"] or ["openid", "email", "profile", "organisations"],
                confidential=not options["public"],
                grant_types=options["grant_types"] or ["authorization_code", "refresh_token"],
                skip_consent=options["skip_consent"],
                organisation_id=_organisation_id(options["organisation"]),
                company_id=_company_id(options["company"]),
            )
        except MutualisError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"client_id:     {client.id}")
        if secret:
            self.stdout.write(f"client_secret: {secret}")
            self.stdout.write("Keep the secret now: it is stored hashed and not shown again.")
        self.stdout.write(f"discovery:     <platform address>{reverse('idp:oidc:configuration')}")
