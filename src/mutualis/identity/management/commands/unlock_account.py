"""``mutualis unlock_account``: lift a brute-force lock-out before its time is up."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mutualis.core.errors import MutualisError
from mutualis.identity import lockout

from ._actor import add_actor_argument, resolve_actor


class Command(BaseCommand):
    help = (
        "Lift the lock-out of an account (by e-mail address) and/or of a source address "
        "(--address); each is recorded in the platform's audit trail."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", nargs="?", help="E-mail address of the locked account.")
        parser.add_argument("--address", metavar="IP", help="Locked source address.")
        add_actor_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["email"] and not options["address"]:
            raise CommandError("Give an e-mail address, --address, or both.")
        actor = resolve_actor(options["actor"], "unlock_account")
        try:
            if options["email"]:
                cleared = lockout.unlock_account(actor=actor, email=options["email"])
                self.stdout.write(f"{options['email']}: unlocked ({cleared} records cleared).")
            if options["address"]:
                cleared = lockout.unlock_address(actor=actor, address=options["address"])
                self.stdout.write(f"{options['address']}: unlocked ({cleared} records cleared).")
        except MutualisError as exc:
            raise CommandError(str(exc.message)) from exc
