"""Sign the head of every audit chain that moved (run every minute by the scheduler)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext, ngettext

from mutualis.core import audit
from mutualis.core.models import AuditCheckpoint


class Command(BaseCommand):
    help = "Sign the head of every audit chain that moved, in the database and the file."

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 1
        try:
            made = audit.checkpoint_all_chains()
        except (FileNotFoundError, TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        except audit.AuditChainBroken as exc:
            if verbose and exc.made:
                self._summary(exc.made)
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                ngettext(
                    "%(count)d chain was not checkpointed: it no longer extends its last "
                    "checkpoint. Run mutualis audit_verify.",
                    "%(count)d chains were not checkpointed: they no longer extend their last "
                    "checkpoint. Run mutualis audit_verify.",
                    len(exc.problems),
                )
                % {"count": len(exc.problems)}
            ) from exc
        if verbose:
            self._summary(made)

    def _summary(self, made: list[AuditCheckpoint]) -> None:
        if not made:
            self.stdout.write(gettext("Every chain head is already checkpointed."))
            return
        self.stdout.write(
            ngettext("Signed %(count)d checkpoint.", "Signed %(count)d checkpoints.", len(made))
            % {"count": len(made)}
        )
