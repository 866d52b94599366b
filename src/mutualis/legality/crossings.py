"""Where the legality context reads across members, each saying why
(``registry.crossing``). ``scopes_disabled()`` appears only in modules named
``crossings.py`` (a test checks it).

The public verification page of an acknowledged act is reached by anyone holding its
stamp: the visitor names no member, only the act's random token. These crossings find
the act by that token alone, only once it is acknowledged, and hand out the public facts
of it (never its subject or its agents), evaluated.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime

from django_scopes import scopes_disabled

from mutualis.core.models import AuditCheckpoint, AuditEvent, StoredFile
from mutualis.core.registry import crossing

from . import publication
from .models import Act, ActStatus


@dataclasses.dataclass(frozen=True)
class PublicFile:
    role: str
    file: StoredFile


@dataclasses.dataclass(frozen=True)
class PublicStamp:
    file: StoredFile
    published_on: date | None
    created_at: datetime
    current: bool


@dataclasses.dataclass(frozen=True)
class AuditProof:
    """Where the acknowledgement sits on the member's hash chain, and the first signed
    checkpoint of that chain that covers it (None until the next checkpoint job)."""

    chain: str
    sequence: int
    hash: str
    occurred_at: datetime
    checkpoint: AuditCheckpoint | None


@dataclasses.dataclass(frozen=True)
class Verification:
    identifier: str
    member: str
    siren: str
    received_on: date
    published_on: date | None
    files: list[PublicFile]
    stamps: list[PublicStamp]
    acknowledgement: AuditProof | None

    @property
    def published(self) -> bool:
        return self.published_on is not None


def _acknowledged(token: str) -> Act | None:
    if not token:
        return None
    return (
        Act.objects.filter(verification_token=token, status=ActStatus.ACKNOWLEDGED)
        .exclude(verification_token="")
        .select_related("organisation", "document", "document_signature")
        .first()
    )


def _proof(act: Act) -> AuditProof | None:
    event = (
        AuditEvent.objects.filter(
            organisation_id=act.organisation_id,
            action="legality.act_acknowledged",
            object_type="legality.act",
            object_id=str(act.pk),
        )
        .order_by("-sequence")
        .first()
    )
    if event is None:
        return None
    checkpoint = (
        AuditCheckpoint.objects.filter(chain=event.chain, sequence__gte=event.sequence)
        .order_by("sequence", "signed_at")
        .first()
    )
    return AuditProof(event.chain, event.sequence, event.hash, event.occurred_at, checkpoint)


@crossing
def verification_of(token: str) -> Verification | None:
    """The public verification page: anyone holding an acknowledged act's stamp (its QR
    code) reads the act's identifier, member, reception date and the fingerprints of its
    files, found by the act's random token alone."""
    with scopes_disabled():
        act = _acknowledged(token)
        if act is None or act.received_on is None:
            return None
        stamps = list(act.stamps.select_related("file"))
        return Verification(
            identifier=act.identifier,
            member=act.organisation.name,
            siren=act.organisation.siren,
            received_on=act.received_on,
            published_on=act.published_on,
            files=[PublicFile(role, f) for role, f in publication.transmitted_files(act)],
            stamps=[
                PublicStamp(s.file, s.published_on, s.created_at, index == 0)
                for index, s in enumerate(stamps)
            ],
            acknowledgement=_proof(act),
        )


@crossing
def published_file_of(token: str, file_id: uuid.UUID) -> StoredFile | None:
    """A file of a published act, downloaded from its public verification page: once
    the member recorded the publication, the act's files and stamps are public."""
    with scopes_disabled():
        act = _acknowledged(token)
        if act is None or act.published_on is None:
            return None
        allowed = [f for _role, f in publication.transmitted_files(act)]
        allowed += [s.file for s in act.stamps.select_related("file")]
        return next((f for f in allowed if f.pk == file_id), None)
