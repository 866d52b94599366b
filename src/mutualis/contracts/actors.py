"""Who acts on awards and contracts besides a buyer's membership: a member's software
through the API (``api.py``), an API client bound to the organisation with the
``api:write`` scope. It holds no role: the operator registered it for the member, and
its scope is its right. It is checked again at each call (still active, still the
member's, the member still subscribing). Recorded on the chain as
``system:api_client:<client id>``; the rows it writes have no ``created_by``."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import PermissionDenied

from mutualis.core.audit import SystemActor
from mutualis.core.models import Organisation
from mutualis.identity.models import ApiClient


@dataclasses.dataclass(frozen=True)
class ClientActor(SystemActor):
    client_id: str = ""
    organisation_id: int = 0

    @classmethod
    def of(cls, client_id: str, organisation_id: int) -> ClientActor:
        return cls(f"api_client:{client_id}", client_id, organisation_id)

    @property
    def user(self) -> None:
        return None

    @property
    def organisation(self) -> Organisation:
        return Organisation.objects.get(pk=self.organisation_id)


def check_client(actor: Any) -> bool:
    """True for an API client still active and the member's (refused otherwise); False
    for any other actor (a membership, checked by its roles)."""
    if not isinstance(actor, ClientActor):
        return False
    if not ApiClient.objects.filter(
        client_id=actor.client_id, organisation_id=actor.organisation_id, is_active=True
    ).exists():
        raise PermissionDenied
    return True
