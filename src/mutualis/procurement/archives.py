"""The ZIP of a published consultation's current files, written once per published version.

Streaming the archive at each download (``core.files.serve_zip``) passes every byte
through Python and its CRC-32: bench/files.py measured it under the target of 0.8 x
nginx. The files of a published version never change, so a background job
(``tasks.archive_consultation_files``, enqueued when a consultation is published and
when a rectification publishes a new version) writes their archive once with
``store_zip`` into the private file store, and the public route serves it like any
stored file: sendfile, HTTP ranges, ETag (its SHA-256). Until the job has run for the
current version, the route streams the archive as before.

One ``ConsultationArchive`` row per consultation holds the latest version archived:
the public page offers only the current files, so an older version's archive is
replaced (its bytes deleted once the new row is committed). A draft has none.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_scopes import scope

from mutualis.core import files
from mutualis.core.files.store import file_storage
from mutualis.core.models import StoredFile

from .documents import current_documents
from .models import ARCHIVE_OWNER_KIND, PUBLIC_STATES, Consultation, ConsultationArchive

logger = logging.getLogger(__name__)


def archive_name(consultation: Consultation) -> str:
    """The name the ZIP is downloaded under, streamed or stored ("DCE <reference>")."""
    return _("DCE %(reference)s") % {"reference": consultation.reference}


def _discard(stored_file: StoredFile) -> None:
    key = stored_file.key
    stored_file.delete()
    with contextlib.suppress(OSError):
        file_storage().delete(key)


def archive_current_files(
    *, consultation_id: int, organisation_id: int
) -> ConsultationArchive | None:
    """Archive the current files of a public consultation of ``organisation_id``, unless
    its current version is archived already; the archive of the current version, or
    None (not public, no file, or a newer version published meanwhile).

    The archive (up to the set limit, 10 GiB by default) is written outside any
    transaction, so that no lock is held while it is written; the row is then recorded
    in a short transaction on the locked consultation, which checks again that the
    version is still the current one and that no concurrent run recorded it first:
    otherwise the new archive is discarded. Idempotent, as a job must be.
    """
    with scope(organisation=organisation_id):
        consultation = Consultation.objects.filter(
            pk=consultation_id, organisation_id=organisation_id, state__in=PUBLIC_STATES
        ).first()
        if consultation is None:
            return None
        version = consultation.version
        existing = ConsultationArchive.objects.filter(consultation=consultation).first()
        if existing is not None and existing.version == version:
            return existing
        # Read after the version: a rectification committed in between raises the
        # version, which the check below sees.
        current = list(current_documents(consultation))
        if not current:
            return None
        stored = files.store_zip(
            entries=[files.ZipEntry(d.file) for d in current],
            name=archive_name(consultation),
            owner_kind=ARCHIVE_OWNER_KIND,
            owner_ref=str(consultation.pk),
        )
        with transaction.atomic():
            locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
            archive = (
                ConsultationArchive.objects.select_for_update()
                .filter(consultation=locked)
                .select_related("file")
                .first()
            )
            if locked.version != version or (archive is not None and archive.version >= version):
                transaction.on_commit(lambda: _discard(stored))
                if archive is not None and archive.version == locked.version:
                    return archive
                return None
            if archive is None:
                archive = ConsultationArchive.objects.create(
                    organisation_id=organisation_id,
                    consultation=locked,
                    version=version,
                    file=stored,
                )
            else:
                replaced = archive.file
                archive.version = version
                archive.file = stored
                archive.save(update_fields=["version", "file", "archived_at"])
                replaced.delete()
                key = replaced.key
                transaction.on_commit(lambda: file_storage().delete(key))
        logger.info(
            "consultation %s: version %s archived (%s bytes)", consultation.pk, version, stored.size
        )
        return archive


def on_consultation_changed(
    sender: Any, *, consultation_id: int, organisation_id: int, **kwargs: Any
) -> None:
    """Receiver of ``signals.consultation_published`` and ``rectification_published``
    (after the commit): the archive is written by a job, never in the buyer's request."""
    from .tasks import archive_consultation_files

    archive_consultation_files.enqueue(
        consultation_id=consultation_id, organisation_id=organisation_id
    )


def archive_missing() -> int:
    """Archive every public consultation whose current version has none yet (the demo,
    and a catch-up after jobs were lost); the number written."""
    from . import crossings

    written = 0
    for consultation_id, organisation_id in crossings.consultations_to_archive():
        archive = archive_current_files(
            consultation_id=consultation_id, organisation_id=organisation_id
        )
        written += archive is not None
    return written
