"""The service catalogue follows the code: a release step brings its rows in line with
the services the contexts declare (``registry.declare_service``).

A declared service gets its row (created, or its name, description and position
updated); a row no context declares stays, since subscriptions point to it, and shows as
not available yet. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import translation

from . import audit, registry
from .models import Service

CATALOGUE_ACTOR = audit.SystemActor("setup")


def is_provided(code: str) -> bool:
    """Whether a context of this instance provides the service (declared it)."""
    return code in registry.services()


@transaction.atomic
def sync_catalogue() -> list[str]:
    """Create or update the rows of the declared services; the codes changed."""
    changed = []
    # Rows hold the platform's language (French): the catalogue is shown as stored.
    with translation.override("fr"):
        for code, declared in registry.services().items():
            wanted = {
                "name": str(declared.name),
                "description": str(declared.description),
                "position": declared.position,
            }
            service = Service.objects.filter(code=code).first()
            if service is not None and all(getattr(service, k) == v for k, v in wanted.items()):
                continue
            if service is None:
                service = Service.objects.create(code=code, **wanted)
            else:
                for key, value in wanted.items():
                    setattr(service, key, value)
                service.save(update_fields=list(wanted))
            audit.record(
                actor=CATALOGUE_ACTOR,
                action="service.declared",
                target=service,
                payload={"code": code, **{k: str(v) for k, v in wanted.items()}},
            )
            changed.append(code)
    return changed


def run_setup_step(stdout: Any) -> None:
    changed = sync_catalogue()
    if changed:
        stdout.write(f"Service catalogue: {', '.join(changed)} brought in line with the code.")
