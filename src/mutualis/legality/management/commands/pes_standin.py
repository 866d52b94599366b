"""``mutualis pes_standin``: the local stand-in of the treasury's PES file gateway (demo,
tests): an SFTP server with ``entree/`` and ``sortie/`` that answers each deposited flow
with a ``PES_ACQUIT`` after ``--delay`` seconds. ``--keys-only`` makes its host key and
the operator's key once and prints the host key line to pin (``bin/demo`` runs it first)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from mutualis.legality.pes.standin import GatewayStandin, keys


class Command(BaseCommand):
    help = "Run the local stand-in of the treasury's PES gateway (SFTP; demo and tests)."

    def add_arguments(self, parser: CommandParser) -> None:
        base = Path(settings.VAR_DIR) / "legality"
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2222)
        parser.add_argument("--root", default=str(base / "pes-gateway"))
        parser.add_argument("--keys-dir", default=str(base / "pes-standin"))
        parser.add_argument("--user", default="mutualis")
        parser.add_argument("--delay", type=float, default=3.0)
        parser.add_argument(
            "--anomaly",
            action="append",
            default=[],
            help="a bordereau number (IdBord) answered with an anomaly (repeatable)",
        )
        parser.add_argument("--keys-only", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        made = keys(Path(options["keys_dir"]))
        if options["keys_only"]:
            self.stdout.write(made.host_public())
            return
        standin = GatewayStandin(
            Path(options["root"]),
            Path(options["keys_dir"]),
            host=options["host"],
            port=options["port"],
            user=options["user"],
            delay=options["delay"],
        )
        standin.anomalies = set(options["anomaly"])
        standin.start()
        self.stdout.write(
            f"PES gateway stand-in on sftp://{options['user']}@{standin.host}:{standin.port}/"
            f" ({options['root']})"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            standin.stop()
