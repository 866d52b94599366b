"""The data migration that moves existing logos from MEDIA_ROOT into the file store."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from PIL import Image

BEFORE = [("core", "0011_stored_file_and_logo_file")]
AFTER = [("core", "0013_organisation_logo_stored_file")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_logos_become_stored_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(buffer, "PNG")
    data = buffer.getvalue()
    (tmp_path / "media" / "logos").mkdir(parents=True)
    (tmp_path / "media" / "logos" / "commune-a-0a1b2c3d.png").write_bytes(data)

    old_apps = migrate(BEFORE)
    Organisation = old_apps.get_model("core", "Organisation")
    with_logo = Organisation.objects.create(
        name="Commune A", kind="syndicat", slug="commune-a", logo="logos/commune-a-0a1b2c3d.png"
    )
    lost = Organisation.objects.create(
        name="Commune B", kind="syndicat", slug="commune-b", logo="logos/gone.png"
    )
    try:
        new_apps = migrate(AFTER)
    finally:
        # Leave the schema as every other test expects it: every app at its latest
        # migration, later ones than AFTER included.
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    Organisation = new_apps.get_model("core", "Organisation")
    StoredFile = new_apps.get_model("core", "StoredFile")
    logo = StoredFile.objects.get(pk=Organisation.objects.get(pk=with_logo.pk).logo_id)
    assert (logo.original_name, logo.content_type, logo.owner_kind) == (
        "commune-a-0a1b2c3d.png",
        "image/png",
        "core.logo",
    )
    assert (logo.size, logo.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    with storages["files"].open(logo.key, "rb") as stored:
        assert stored.read() == data
    assert Organisation.objects.get(pk=lost.pk).logo_id is None
