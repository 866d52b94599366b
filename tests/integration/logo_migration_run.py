"""Run by tests/integration/test_logo_migration.py in a process of its own, on a fresh
SQLite database: core's migrations up to the one before the logos moved, two members
(one logo on disk, one lost), then the data migration; prints what it found as JSON.

On a database of its own, the migration runs forward from nothing, core's chain only:
migrating the suite's database back to core 0011 unapplied every later migration of
every context first (over a minute, growing with each new context)."""

from __future__ import annotations

import json
import sys

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

BEFORE = [("core", "0011_stored_file_and_logo_file")]
AFTER = [("core", "0013_organisation_logo_stored_file")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


old_apps = migrate(BEFORE)
Organisation = old_apps.get_model("core", "Organisation")
with_logo = Organisation.objects.create(
    name="Commune A", kind="syndicat", slug="commune-a", logo="logos/commune-a-0a1b2c3d.png"
)
lost = Organisation.objects.create(
    name="Commune B", kind="syndicat", slug="commune-b", logo="logos/gone.png"
)
new_apps = migrate(AFTER)
Organisation = new_apps.get_model("core", "Organisation")
StoredFile = new_apps.get_model("core", "StoredFile")
logo = StoredFile.objects.get(pk=Organisation.objects.get(pk=with_logo.pk).logo_id)
sys.stdout.write(
    json.dumps(
        {
            "logo": [logo.original_name, logo.content_type, logo.owner_kind],
            "size": logo.size,
            "sha256": logo.sha256,
            "key": logo.key,
            "lost": Organisation.objects.get(pk=lost.pk).logo_id,
        }
    )
    + "\n"
)
