"""The data migration that moves existing logos from MEDIA_ROOT into the file store, run
on a fresh database of its own (``logo_migration_run.py`` says why)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

SCRIPT = Path(__file__).with_name("logo_migration_run.py")


def test_existing_logos_become_stored_files(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(buffer, "PNG")
    data = buffer.getvalue()
    (tmp_path / "media" / "logos").mkdir(parents=True)
    (tmp_path / "media" / "logos" / "commune-a-0a1b2c3d.png").write_bytes(data)
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "mutualis.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MUTUALIS_VAR_DIR": str(tmp_path),
        "MUTUALIS_FILE_STORAGE": "local",
        "MUTUALIS_FILES_ROOT": str(tmp_path / "files"),
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, a script of the suite
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["logo"] == ["commune-a-0a1b2c3d.png", "image/png", "core.logo"]
    assert (found["size"], found["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert (tmp_path / "files" / found["key"]).read_bytes() == data
    assert found["lost"] is None
