"""``mutualis import_territory``: create or update the territory's public bodies."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mutualis.core import territory
from mutualis.core.errors import MutualisError
from mutualis.core.models import OrganisationKind


class Command(BaseCommand):
    # Plain text, as in Django's own commands: argparse cannot format a lazy string, and
    # the class attribute is read before any language is active.
    help = (
        "Create or update the communes, EPCI, départements and régions from the Etalab "
        "'découpage administratif' files: the whole of France, or the régions and "
        "départements named (the options add up)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source",
            type=Path,
            default=None,
            metavar="DIR",
            help=_(
                "Directory holding communes.json, epci.json, departements.json and "
                "regions.json (default: MUTUALIS_TERRITORY_DIR, the vendored région 27)."
            ),
        )
        parser.add_argument(
            "--region",
            action="append",
            dest="regions",
            default=[],
            metavar="CODE",
            help=_("Import this région (INSEE code, e.g. 27); repeatable."),
        )
        parser.add_argument(
            "--departement",
            action="append",
            dest="departements",
            default=[],
            metavar="CODE",
            help="Import this département (e.g. 21, 2A); repeatable.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["source"] or settings.MUTUALIS_TERRITORY_DIR)
        started = time.perf_counter()
        try:
            report = territory.import_territory(
                source=source, regions=options["regions"], departements=options["departements"]
            )
        except MutualisError as exc:
            raise CommandError(str(exc.message)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(render_report(report))
        self.stdout.write(
            self.style.SUCCESS(
                _("Territory imported from %(source)s in %(seconds).1f s.")
                % {"source": source, "seconds": elapsed}
            )
        )


def render_report(report: territory.ImportReport) -> str:
    """The counts as a plain-text table, one line per kind and a total."""
    labels = dict(OrganisationKind.choices)
    rows = [
        (str(labels.get(kind, kind)), c.created, c.updated, c.unchanged)
        for kind, c in report.counts.items()
    ]
    total = report.totals()
    rows.append((_("Total"), total.created, total.updated, total.unchanged))
    header = (_("Kind"), _("created"), _("updated"), _("unchanged"))
    width = max(len(header[0]), *(len(row[0]) for row in rows))
    numbers = [max(len(header[i]), 7) for i in range(1, 4)]

    def line(cells: tuple[Any, ...]) -> str:
        return "  ".join(
            [str(cells[0]).ljust(width)]
            + [str(cell).rjust(numbers[i]) for i, cell in enumerate(cells[1:])]
        )

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule, *map(line, rows[:-1]), rule, line(rows[-1]), ""])
