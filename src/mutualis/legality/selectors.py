"""What the legality pages read, inside the member's scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from mutualis.core.models import StoredFile

from .models import (
    LEGALITY_ROLES,
    Act,
    ActStatus,
    Annex,
    Enrolment,
    Letter,
    OutboundFile,
    OutboundMessage,
    Stamp,
)


def is_legality_agent(membership: Any) -> bool:
    return bool(
        membership is not None
        and membership.is_active
        and membership.role_codes() & set(LEGALITY_ROLES)
    )


def can_read_act_file(request: HttpRequest, stored_file: StoredFile) -> bool:
    """An act's file or package is read by the member's legality agents and senders
    only, under the member's path (``/o/<slug>/files/…``); anyone else gets 404."""
    membership: Any = getattr(request, "membership", None)
    if membership is None or not is_legality_agent(membership):
        return False
    if stored_file.owner_ref != str(membership.organisation_id):
        return False
    acts = Act.objects.filter(organisation_id=membership.organisation_id)
    return (
        acts.filter(document_id=stored_file.pk).exists()
        or acts.filter(document_signature_id=stored_file.pk).exists()
        or acts.filter(package_id=stored_file.pk).exists()
        or Annex.objects.filter(
            organisation_id=membership.organisation_id, file_id=stored_file.pk
        ).exists()
        or Annex.objects.filter(
            organisation_id=membership.organisation_id, signature_id=stored_file.pk
        ).exists()
        or is_stamp_or_slip(membership.organisation_id, stored_file)
        or is_correspondence_file(membership.organisation_id, stored_file)
    )


def is_correspondence_file(organisation_id: int, stored_file: StoredFile) -> bool:
    """A letter of the prefecture, a file of an answer, or the package of a message."""
    return (
        Letter.objects.filter(organisation_id=organisation_id, document_id=stored_file.pk).exists()
        or OutboundFile.objects.filter(
            organisation_id=organisation_id, file_id=stored_file.pk
        ).exists()
        or OutboundMessage.objects.filter(
            organisation_id=organisation_id, package_id=stored_file.pk
        ).exists()
    )


def enrolment_of(organisation_id: int) -> Enrolment | None:
    return Enrolment.objects.filter(organisation_id=organisation_id).first()


def acts_of(
    organisation_id: int, *, status: str = "", nature: str = "", text: str = ""
) -> QuerySet[Act]:
    acts = Act.objects.filter(organisation_id=organisation_id)
    if status in ActStatus.values:
        acts = acts.filter(status=status)
    if nature.isdigit():
        acts = acts.filter(nature=int(nature))
    if text:
        acts = acts.filter(number__icontains=text) | acts.filter(subject__icontains=text)
    return acts.select_related("document", "package").order_by("-decided_on", "-pk")


def act_of(organisation_id: int, pk: int) -> Act | None:
    return (
        Act.objects.filter(organisation_id=organisation_id, pk=pk)
        .select_related("document", "document_signature", "package", "organisation", "slip")
        .first()
    )


def annexes_of(act: Act) -> list[Annex]:
    return list(act.annexes.select_related("file", "signature").order_by("position"))


def nobody_reads(request: HttpRequest, stored_file: StoredFile) -> bool:
    """The return channel's raw messages are served to no one (the operator reads them
    on the server, from the quarantine's list)."""
    return False


def is_stamp_or_slip(organisation_id: int, stored_file: StoredFile) -> bool:
    """An acknowledged act's stamped PDF or slip: read like the act's own files."""
    return (
        Stamp.objects.filter(organisation_id=organisation_id, file_id=stored_file.pk).exists()
        or Act.objects.filter(organisation_id=organisation_id, slip_id=stored_file.pk).exists()
    )


def stamps_of(act: Act) -> list[Stamp]:
    """The act's stamped PDFs, the current one first."""
    return list(act.stamps.select_related("file"))
