"""The private file store every service uses (docs/architecture.md, "Files").

- ``store_file(file=…, name=…, owner_kind=…, owner_ref=…, allowed_types=…, max_size=…)``
  stores the bytes in the ``files`` storage (local file system, fsynced; or S3) and
  returns a ``StoredFile`` row with the sanitised name, the type read from the bytes, the
  size and the SHA-256 measured on the way; refusals are ``errors.FileRefused``.
- ``register_owner(kind, can_read=…, public=False)`` declares who may read a kind of file;
  the one download view (``core:file_download``, ``StoredFile.get_absolute_url()``) asks
  it and answers 404 when it says no.
"""

from . import errors
from .names import sanitise_name
from .owners import OwnerKind, anyone, get_owner, register_owner, unregister_owner
from .store import DOCUMENT_TYPES, IMAGE_TYPES, open_stored_file, store_file

__all__ = [
    "DOCUMENT_TYPES",
    "IMAGE_TYPES",
    "OwnerKind",
    "anyone",
    "errors",
    "get_owner",
    "open_stored_file",
    "register_owner",
    "sanitise_name",
    "store_file",
    "unregister_owner",
]
