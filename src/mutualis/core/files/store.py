"""Storing files: sanitised name, type read from the bytes, SHA-256 and size measured on
the way to the storage, durable before the row is written."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterator
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages

from mutualis.core.models import StoredFile

from . import errors
from .archives import inspect_zip
from .names import sanitise_name
from .owners import get_owner
from .policies import ZIP_CONTAINER_TYPES, ZIP_TYPE, check_set_size, check_type, get_policy
from .sniff import SNIFF_BYTES, sniff_content_type

STORAGE_ALIAS = "files"
CHUNK_BYTES = 1024 * 1024

IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
# What a member may deposit by default: documents a public buyer and a business exchange.
# Never HTML, SVG, XML with scripts or executables: a file is served from the
# platform's own origin.
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        *IMAGE_TYPES,
        "text/plain",
        "text/csv",
        "application/zip",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
    }
)


def file_storage() -> Storage:
    return storages[STORAGE_ALIAS]


class _Measured(File[bytes]):
    """The upload as the storage reads it, hashed and counted on the way.

    Storages read sequentially (``chunks()`` or ``read()``); one that seeks back (S3's
    upload computes the size first) re-reads bytes that are not counted twice: only
    bytes read at the measured offset extend the digest.
    """

    def __init__(self, file: IO[bytes], *, max_size: int) -> None:
        super().__init__(file)
        self._source = file
        self.digest = hashlib.sha256()
        self.measured = 0
        self.max_size = max_size

    def read(self, size: int = -1) -> bytes:
        position = self._source.tell()
        data: bytes = self._source.read(size)
        end = position + len(data)
        if position <= self.measured < end:
            self.digest.update(data[self.measured - position :])
            self.measured = end
            if self.measured > self.max_size:
                raise errors.FileTooLarge(limit=self.max_size)
        return data

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self._source.seek(0)
        while data := self.read(chunk_size or CHUNK_BYTES):
            yield data

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks()


def store_file(
    *,
    file: IO[bytes] | File[bytes],
    name: str,
    owner_kind: str,
    owner_ref: str = "",
    allowed_types: Collection[str] = DOCUMENT_TYPES,
    max_size: int | None = None,
    policy: str | None = None,
    set_bytes: int = 0,
) -> StoredFile:
    """Store ``file`` (seekable, read from its start) for ``owner_kind`` and return its row.

    Refuses (``errors.FileRefused``) an empty file, one over ``max_size`` bytes (default
    ``MUTUALIS_FILES_MAX_BYTES``), one whose bytes are not of ``allowed_types``, a name
    with nothing left once sanitised. The bytes are on disk (fsynced) before the row is
    written (inside ``storage.synced_together``, before the block ends, so before the
    transaction commits); call it inside the caller's transaction: a rollback leaves an
    unreferenced object in the storage, never a row without its bytes.

    With ``policy`` (the code of a registered policy, ``policies.py``), the policy decides
    instead of ``allowed_types``: types and names checked from the bytes, executables
    refused, its file limit (unless ``max_size``), the set limit counted from
    ``set_bytes`` (what the set, e.g. a consultation's files, already holds), and ZIP
    archives inspected entry by entry (``archives.py``) before anything is written.
    """
    if get_owner(owner_kind) is None:
        raise ValueError(f"owner kind {owner_kind!r} is not registered")
    rules = get_policy(policy) if policy is not None else None
    if max_size is not None:
        limit = max_size
    elif rules is not None:
        limit = rules.file_limit()
    else:
        limit = settings.MUTUALIS_FILES_MAX_BYTES
    display_name = sanitise_name(name)
    declared = getattr(file, "size", None)
    if declared is not None and declared > limit:
        raise errors.FileTooLarge(limit=limit)
    if declared is not None and rules is not None:
        check_set_size(rules, set_bytes=set_bytes, adding=declared)
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head:
        raise errors.FileEmpty()
    content_type = sniff_content_type(head)
    source = file.file if isinstance(file, File) else file
    if source is None:
        raise ValueError("the file is closed")
    if rules is None:
        if content_type not in allowed_types:
            raise errors.FileTypeNotAllowed()
    else:
        check_type(rules, name=display_name, head=head, content_type=content_type)
        if rules.inspect_archives and content_type in (ZIP_TYPE, *ZIP_CONTAINER_TYPES):
            inspect_zip(
                source, name=display_name, policy=rules if content_type == ZIP_TYPE else None
            )

    stored_id = uuid.uuid4()
    key = f"{stored_id.hex[:2]}/{stored_id.hex}"
    measured = _Measured(source, max_size=limit)
    storage = file_storage()
    key = storage.save(key, measured)
    try:
        if rules is not None:
            check_set_size(rules, set_bytes=set_bytes, adding=measured.measured)
        return StoredFile.objects.create(
            id=stored_id,
            key=key,
            owner_kind=owner_kind,
            owner_ref=str(owner_ref),
            original_name=display_name,
            content_type=content_type,
            size=measured.measured,
            sha256=measured.digest.hexdigest(),
        )
    except BaseException:
        storage.delete(key)
        raise


def open_stored_file(stored_file: StoredFile) -> File[bytes]:
    """The stored bytes, for a service that reads them (to zip, to sign…)."""
    return file_storage().open(stored_file.key, "rb")


def local_path(stored_file: StoredFile) -> str | None:
    """The file's path when the storage is a local file system, else None."""
    try:
        return str(file_storage().path(stored_file.key))
    except NotImplementedError:
        return None


__all__ = [
    "DOCUMENT_TYPES",
    "IMAGE_TYPES",
    "SNIFF_BYTES",
    "file_storage",
    "local_path",
    "open_stored_file",
    "sniff_content_type",
    "store_file",
]
