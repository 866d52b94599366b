"""The release steps `mutualis setup` runs, in order, on every release and first install.

Each step is idempotent: run on an instance already set up, it changes nothing. Keys are
only created when missing, never rotated (``init_oidc_key --rotate`` stays a deliberate
act of the operator).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from django.core.management import call_command
from django.core.management.base import OutputWrapper
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from . import registry
from .instance import ensure_instance
from .reference import sync_reference_data


@dataclasses.dataclass(frozen=True)
class ReleaseStep:
    name: str
    description: str | Promise
    run: Callable[[OutputWrapper, int], None]


def _command(name: str, **options: object) -> Callable[[OutputWrapper, int], None]:
    def run(out: OutputWrapper, verbosity: int) -> None:
        call_command(name, stdout=out, verbosity=verbosity, **options)

    return run


def _instance(out: OutputWrapper, verbosity: int) -> None:
    identifier = ensure_instance()
    if verbosity:
        out.write(gettext("This instance is %(identifier)s.") % {"identifier": identifier})


def _reference_data(out: OutputWrapper, verbosity: int) -> None:
    changed = sync_reference_data()
    if verbosity:
        out.write(
            ngettext(
                "Reference data: %(count)d row created or corrected.",
                "Reference data: %(count)d rows created or corrected.",
                changed,
            )
            % {"count": changed}
        )


def _declared(step: registry.Step) -> ReleaseStep:
    def run(out: OutputWrapper, verbosity: int) -> None:
        step.run(out)

    return ReleaseStep(step.name, step.description or step.name, run)


def release_steps() -> list[ReleaseStep]:
    """Every step, in the order they run: core's own (the database and its keys first),
    then those the contexts declare (``registry.declare_setup_step``), by their order."""
    return [
        ReleaseStep(
            "migrate", _("apply the database migrations"), _command("migrate", interactive=False)
        ),
        ReleaseStep("cache", _("create the database cache table"), _command("createcachetable")),
        ReleaseStep("instance", _("name this instance, once"), _instance),
        ReleaseStep(
            "audit_key", _("create the audit signing key if missing"), _command("init_keys")
        ),
        ReleaseStep("reference_data", _("bring the catalogue in line"), _reference_data),
        *(_declared(step) for step in registry.setup_steps()),
    ]
