"""The identity of this instance (one database): a UUID made once, never changed.

Files kept outside the database name it (the audit checkpoint file), so that a database
started beside another database's files can tell them apart from its own.
"""

from __future__ import annotations

import uuid

from .models import Instance


def current_instance() -> Instance | None:
    """This instance, or None if the row is missing (not set up)."""
    return Instance.objects.filter(pk=1).first()


def instance_identifier() -> uuid.UUID | None:
    """This instance's identifier, or None if the row is missing (not set up)."""
    instance = current_instance()
    return instance.identifier if instance is not None else None


def ensure_instance() -> uuid.UUID:
    """This instance's identifier, made on first use (by the migration, or `mutualis setup`).

    Never replaced once made: every checkpoint signed since names it.
    """
    instance, _ = Instance.objects.get_or_create(pk=1)
    return instance.identifier
