"""The territory's files for tests: a writable copy of the vendored extract (``extract``),
a record changed in place, and an imported organisation by its source key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from mutualis.core.models import Organisation


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """A writable copy of the vendored extract."""
    return Path(shutil.copytree(settings.MUTUALIS_TERRITORY_DIR, tmp_path / "territory"))


def load(directory: Path, file_name: str) -> list[dict[str, Any]]:
    return json.loads((directory / file_name).read_text(encoding="utf-8"))


def dump(directory: Path, file_name: str, records: list[dict[str, Any]]) -> None:
    (directory / file_name).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")


def change(directory: Path, file_name: str, code: str, **fields: Any) -> int:
    """Change one record in place; its index."""
    records = load(directory, file_name)
    index = next(i for i, r in enumerate(records) if r.get("code") == code)
    records[index].update(fields)
    dump(directory, file_name, records)
    return index


def by_key(key: str) -> Organisation:
    return Organisation.objects.get(source_key=key)
