"""The private file store every service uses (docs/architecture.md, "Files").

- ``store_file(file=…, name=…, owner_kind=…, owner_ref=…, allowed_types=…, max_size=…)``
  stores the bytes in the ``files`` storage (local file system, fsynced; or S3) and
  returns a ``StoredFile`` row with the sanitised name, the type read from the bytes, the
  size and the SHA-256 measured on the way; refusals are ``errors.FileRefused``.
- ``register_owner(kind, can_read=…, public=False)`` declares who may read a kind of file;
  the one download view (``core:file_download``, ``StoredFile.get_absolute_url()``) asks
  it and answers 404 when it says no.
- ``register_policy(code, types=…, max_file_bytes=…, max_set_bytes=…)`` declares which
  types (read from the bytes) and names a service accepts; ``store_file(policy=code,
  set_bytes=…)`` applies it, refusing executables, disguised types and hostile ZIP
  archives (``archives.inspect_zip``). ``consultation_documents`` is registered here.
- ``serve_zip(request, entries, name)`` streams several stored files as one ZIP
  archive (``ZipEntry(stored_file, path=…)``), once the caller has checked permissions;
  ``store_zip(entries=…, name=…, owner_kind=…)`` archives files that never change once,
  to serve the archive like any file (sendfile).
- ``synced_together()``: the files stored inside the block are made durable together
  when it ends (their fsyncs run at once) instead of one by one; open it inside the transaction
  that records them.
"""

from . import errors
from .archives import ArchiveLimits, inspect_zip
from .names import sanitise_name, unique_names
from .owners import OwnerKind, anyone, get_owner, register_owner, unregister_owner
from .policies import (
    CONSULTATION_DOCUMENTS,
    PROCUREMENT_DOCUMENT_TYPES,
    Policy,
    get_policy,
    register_policy,
    unregister_policy,
)
from .storage import synced_together
from .store import DOCUMENT_TYPES, IMAGE_TYPES, open_stored_file, store_file
from .zips import ZipEntry, serve_zip, store_zip, zip_stream

__all__ = [
    "CONSULTATION_DOCUMENTS",
    "DOCUMENT_TYPES",
    "IMAGE_TYPES",
    "PROCUREMENT_DOCUMENT_TYPES",
    "ArchiveLimits",
    "OwnerKind",
    "Policy",
    "ZipEntry",
    "anyone",
    "errors",
    "get_owner",
    "get_policy",
    "inspect_zip",
    "open_stored_file",
    "register_owner",
    "register_policy",
    "sanitise_name",
    "serve_zip",
    "store_file",
    "store_zip",
    "synced_together",
    "unique_names",
    "unregister_owner",
    "unregister_policy",
    "zip_stream",
]
