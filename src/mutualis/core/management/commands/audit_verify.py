"""Check every audit chain against itself and against the signed checkpoints."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, ngettext

from mutualis.core import audit

# Problems that say the checkpoint file or the identifier is not this instance's: a
# mix-up of files or a missing set-up step, which the command does not call tampering.
MIX_UPS = {"checkpoint_file_foreign", "instance_missing"}


class Command(BaseCommand):
    help = (
        "Check every audit chain against itself and the signed checkpoints (database and "
        "file); exit non-zero and name the first broken event when one was altered, "
        "deleted, reordered or cut off."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = audit.verify_all_chains()
        except (FileNotFoundError, TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            gettext("Chains: %(chains)d, events: %(events)d, checkpoints checked: %(checkpoints)d.")
            % {
                "chains": report.chains,
                "events": report.events,
                "checkpoints": report.checkpoints_checked,
            }
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS(gettext("The audit trail is intact.")))
            return
        for problem in report.problems:
            self.stderr.write(str(problem))
        if all(p.code in MIX_UPS for p in report.problems):
            raise CommandError(
                gettext(
                    "No event was found altered, but the checkpoint file could not be checked "
                    "against this instance: %(first)s"
                )
                % {"first": report.problems[0]}
            )
        raise CommandError(
            ngettext(
                "The audit trail is broken (%(count)d problem). First: %(first)s",
                "The audit trail is broken (%(count)d problems). First: %(first)s",
                len(report.problems),
            )
            % {"count": len(report.problems), "first": report.problems[0]}
        )
