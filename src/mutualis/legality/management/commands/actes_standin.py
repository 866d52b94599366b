"""``mutualis actes_standin``: the local stand-in of the ministry's @ctes endpoint (demo,
tests). Makes its test PKI once, then serves HTTPS with client-certificate checking and
writes the acknowledgements into the return Maildir. ``--pki-only`` makes the PKI and
exits (``bin/demo`` runs it first, to point the platform at the client certificate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mutualis.legality.standin.pki import make_pki
from mutualis.legality.standin.server import StandinServer


class Command(BaseCommand):
    help = "Run the local stand-in of the ministry's @ctes endpoint (demo and tests)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="localhost")
        parser.add_argument("--port", type=int, default=8443)
        parser.add_argument(
            "--pki-dir", default=str(Path(settings.VAR_DIR) / "legality" / "standin")
        )
        parser.add_argument("--maildir", default=str(settings.MUTUALIS_LEGALITY_MAILDIR))
        parser.add_argument("--legacy-200", action="store_true", help="answer 200, not 201")
        parser.add_argument("--pki-only", action="store_true")
        parser.add_argument(
            "--request-documents",
            action="append",
            default=[],
            metavar="NUMBER",
            help="after acknowledging the act of this internal number, send a request for "
            "additional documents about it (repeatable)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pki = make_pki(Path(options["pki_dir"]))
        if options["pki_only"]:
            self.stdout.write(f"stand-in PKI in {pki.directory}")
            return
        server = StandinServer(
            (options["host"], options["port"]),
            pki,
            Path(options["maildir"]),
            legacy_200=options["legacy_200"],
        )
        server.letters = {
            number: "DemandePieceComplementaire" for number in options["request_documents"]
        }
        self.stdout.write(f"@ctes stand-in on {server.url} (Maildir {options['maildir']})")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
