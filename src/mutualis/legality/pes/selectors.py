"""What the PES pages read, inside the member's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from mutualis.core.models import StoredFile

from .models import ACCOUNTANT_ROLE, FlowStatus, PesFlow, PesReturn


def is_accountant(membership: Any) -> bool:
    return bool(
        membership is not None
        and membership.is_active
        and ACCOUNTANT_ROLE in membership.role_codes()
    )


def flows_of(organisation_id: int, *, status: str = "") -> QuerySet[PesFlow]:
    flows = PesFlow.objects.filter(organisation_id=organisation_id)
    if status in FlowStatus.values:
        flows = flows.filter(status=status)
    return flows.order_by("-created_at", "-pk")


def flow_of(organisation_id: int, pk: int) -> PesFlow | None:
    return (
        PesFlow.objects.filter(organisation_id=organisation_id, pk=pk)
        .select_related("file", "acquit")
        .first()
    )


def can_read_flow_file(request: HttpRequest, stored_file: StoredFile) -> bool:
    """A flow's file or its acknowledgement: the member's accounting agents only, under
    the member's path; anyone else gets 404."""
    membership: Any = getattr(request, "membership", None)
    if not is_accountant(membership) or stored_file.owner_ref != str(membership.organisation_id):
        return False
    mine = PesFlow.objects.filter(organisation_id=membership.organisation_id)
    return mine.filter(file_id=stored_file.pk).exists()


def can_read_acquit(request: HttpRequest, stored_file: StoredFile) -> bool:
    membership: Any = getattr(request, "membership", None)
    if not is_accountant(membership):
        return False
    return PesFlow.objects.filter(
        organisation_id=membership.organisation_id, acquit_id=stored_file.pk
    ).exists()


def returns_of(organisation_id: int) -> QuerySet[PesReturn]:
    """The member's returns, the latest first (unread and read together)."""
    return PesReturn.objects.filter(organisation_id=organisation_id).order_by("-received_at", "-pk")


def return_of(organisation_id: int, pk: int) -> PesReturn | None:
    return (
        PesReturn.objects.filter(organisation_id=organisation_id, pk=pk)
        .select_related("file")
        .first()
    )
