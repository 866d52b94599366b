"""Where a deposit's ciphertext lives: ``MUTUALIS_DEPOSIT_DIR / DepositFile.storage_name``,
with ``.part`` appended while the file is being received. Nothing else in the platform
reads or writes there."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

PART_SUFFIX = ".part"


def storage_name(*, consultation_id: int, reference: str, file_id: int) -> str:
    """The relative name of a deposit file's ciphertext (``.age``, the age format)."""
    return f"{consultation_id}/{reference}/{file_id}.age"


def path_of(name: str) -> Path:
    """The complete file's path."""
    return Path(settings.MUTUALIS_DEPOSIT_DIR) / name


def part_path_of(name: str) -> Path:
    """The path of the file while its chunks arrive."""
    return Path(settings.MUTUALIS_DEPOSIT_DIR) / (name + PART_SUFFIX)
