"""Use cases of the consultation files (the DCE): a buyer adds files to a draft and
withdraws them freely; once published, files change only through a rectification
(``rectifications.py``), which reuses ``store_documents`` here.

The bytes go to the platform's private file store (``core.files``) under the policy
``CONSULTATION_DOCUMENTS``: the type is read from the bytes, executables, disguised
types and hostile ZIP archives (traversal names, bombs, too deep) are refused, a file
and the consultation's current set have their limits
(``MUTUALIS_FILES_POLICY_MAX_FILE_BYTES``, ``MUTUALIS_FILES_POLICY_MAX_SET_BYTES``).
Several files sent together are stored all or none: a refusal names the file, and
what the consultation held before is left as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from django.core.files import File
from django.db import transaction
from django.db.models import Sum

from mutualis.core import files
from mutualis.core.files.store import file_storage
from mutualis.core.models import StoredFile

from . import errors
from .models import DOCUMENT_OWNER_KIND, Consultation, ConsultationDocument, State
from .services import locked_consultation, record_event, require_buyer


@dataclass(frozen=True)
class Upload:
    """A file as sent: its bytes (seekable) and the name its sender gave it."""

    file: IO[bytes] | File[bytes]
    name: str


def current_documents(consultation: Consultation) -> Any:
    return (
        ConsultationDocument.objects.filter(
            consultation=consultation,
            organisation_id=consultation.organisation_id,
            withdrawn_in_version__isnull=True,
        )
        .select_related("file")
        .order_by("added_in_version", "added_at", "pk")
    )


def current_bytes(consultation: Consultation) -> int:
    total = current_documents(consultation).aggregate(total=Sum("file__size"))["total"]
    return int(total or 0)


def store_documents(
    consultation: Consultation, uploads: Sequence[Upload], *, version: int
) -> list[ConsultationDocument]:
    """Store ``uploads`` as files of ``consultation`` (locked by the caller) added in
    ``version``, inside the caller's transaction. On a refusal the bytes already written
    for this call are deleted, then the error goes up (the transaction rolls back)."""
    set_bytes = current_bytes(consultation)
    stored: list[StoredFile] = []
    documents = []
    try:
        for upload in uploads:
            stored_file = files.store_file(
                file=upload.file,
                name=upload.name,
                owner_kind=DOCUMENT_OWNER_KIND,
                owner_ref=str(consultation.pk),
                policy=files.CONSULTATION_DOCUMENTS,
                set_bytes=set_bytes,
            )
            stored.append(stored_file)
            set_bytes += stored_file.size
            documents.append(
                ConsultationDocument.objects.create(
                    organisation_id=consultation.organisation_id,
                    consultation=consultation,
                    file=stored_file,
                    added_in_version=version,
                )
            )
    except BaseException:
        storage = file_storage()
        for stored_file in stored:
            with contextlib.suppress(OSError):
                storage.delete(stored_file.key)
        raise
    return documents


def _require_draft_files(consultation: Consultation) -> None:
    if consultation.state == State.SCHEDULED:
        raise errors.NotEditable()  # unschedule it first
    if consultation.state != State.DRAFT:
        raise errors.DocumentsNotEditable()


def _document_payload(documents: Sequence[ConsultationDocument]) -> list[dict[str, Any]]:
    return [{"document": d.pk, "sha256": d.file.sha256, "size": d.file.size} for d in documents]


@transaction.atomic(durable=True)
def add_documents(
    *,
    actor: Any,
    consultation_id: int,
    uploads: Sequence[Upload],
    request_context: dict[str, Any] | None = None,
) -> list[ConsultationDocument]:
    """Add files to a draft of the actor's organisation: all of them, or none."""
    require_buyer(actor)
    if not uploads:
        raise errors.NoFileSent()
    consultation = locked_consultation(actor, consultation_id)
    _require_draft_files(consultation)
    documents = store_documents(consultation, uploads, version=consultation.version)
    record_event(
        consultation,
        actor=actor,
        action="consultation.documents_added",
        payload={"documents": _document_payload(documents)},
        request_context=request_context,
    )
    return documents


@transaction.atomic(durable=True)
def remove_document(
    *,
    actor: Any,
    consultation_id: int,
    document_id: int,
    request_context: dict[str, Any] | None = None,
) -> None:
    """Withdraw a file from a draft: nobody saw it, so it goes entirely (row, stored
    file, and its bytes once the transaction commits)."""
    require_buyer(actor)
    consultation = locked_consultation(actor, consultation_id)
    _require_draft_files(consultation)
    document = ConsultationDocument.objects.select_related("file").get(
        pk=document_id, consultation=consultation, organisation_id=actor.organisation_id
    )
    stored_file = document.file
    payload = _document_payload([document])
    document.delete()
    key = stored_file.key
    stored_file.delete()
    transaction.on_commit(lambda: file_storage().delete(key))
    record_event(
        consultation,
        actor=actor,
        action="consultation.document_removed",
        payload={"documents": payload},
        request_context=request_context,
    )
