"""Role rows follow the code: a release step creates the roles the contexts declare
(``registry.declare_role``) and keeps their position and service in line. The label and
whether the role requires a second factor are the operator's once the row exists."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import translation

from mutualis.core import audit, registry

from .models import Role

ROLES_ACTOR = audit.SystemActor("setup")


@transaction.atomic
def sync_roles() -> list[str]:
    changed = []
    with translation.override("fr"):
        for declared in registry.roles():
            role = Role.objects.filter(code=declared.code).first()
            if role is None:
                role = Role.objects.create(
                    code=declared.code,
                    label=str(declared.label),
                    position=declared.position,
                    service_id=declared.service,
                    requires_mfa=declared.requires_mfa,
                )
            elif (role.position, role.service_id) != (declared.position, declared.service):
                role.position, role.service_id = declared.position, declared.service
                role.save(update_fields=["position", "service"])
            else:
                continue
            audit.record(
                actor=ROLES_ACTOR,
                action="role.declared",
                target=role,
                payload={"code": role.code, "service": role.service_id},
            )
            changed.append(declared.code)
    return changed


def run_setup_step(stdout: Any) -> None:
    changed = sync_roles()
    if changed:
        stdout.write(f"Roles: {', '.join(changed)} brought in line with the code.")
