"""Who may read a stored file: each owner kind answers for its own files.

A service registers its owner kind once, from its ``AppConfig.ready()``::

    from mutualis.core.files import register_owner

    def can_read(request: HttpRequest, stored_file: StoredFile) -> bool:
        ...  # look the file up in the service's own rows, in the request's scope

    register_owner("procurement.document", can_read=can_read)

The download view asks the owner kind of the file; a kind nobody registered, or a
``False``, gives 404, never 403, so that the answer does not tell that the file exists.
``public=True`` marks files anyone may read (members' logos): they may be cached by
shared caches; the others are answered ``Cache-Control: private, no-cache``, so that a
browser revalidates, and the permission is checked again, before it reuses a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from django.http import HttpRequest

    from mutualis.core.models import StoredFile

CanRead = Callable[["HttpRequest", "StoredFile"], bool]


@dataclass(frozen=True)
class OwnerKind:
    code: str
    can_read: CanRead
    public: bool = False


_registry: dict[str, OwnerKind] = {}


def register_owner(code: str, *, can_read: CanRead, public: bool = False) -> OwnerKind:
    """Declare owner kind ``code`` (``"<context>.<thing>"``, at most 60 characters).

    Registering the same kind again with the same function is harmless (``ready()`` may
    run twice); with another function it is a configuration error.
    """
    if not code or len(code) > 60:
        raise ImproperlyConfigured(f"owner kind {code!r} must have 1 to 60 characters")
    owner = OwnerKind(code=code, can_read=can_read, public=public)
    existing = _registry.get(code)
    if existing is not None and existing != owner:
        raise ImproperlyConfigured(f"owner kind {code!r} is already registered")
    _registry[code] = owner
    return owner


def unregister_owner(code: str) -> None:
    """Forget an owner kind (for tests that register one of their own)."""
    _registry.pop(code, None)


def get_owner(code: str) -> OwnerKind | None:
    return _registry.get(code)


def anyone(request: HttpRequest, stored_file: StoredFile) -> bool:
    """``can_read`` of a public owner kind: every request may read its files."""
    return True
