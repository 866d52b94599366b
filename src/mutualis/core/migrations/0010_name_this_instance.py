"""Give this database its instance identifier, once (see mutualis.core.instance).

A database that already has checkpoints (signed in the format that names no instance)
adopts the file's lines of that format signed until its newest one; a new database adopts
none, so that another database's old file is not taken for its own.
"""

import uuid

from django.db import migrations
from django.db.models import Max


def name_this_instance(apps, schema_editor):
    Instance = apps.get_model("core", "Instance")
    AuditCheckpoint = apps.get_model("core", "AuditCheckpoint")
    newest = AuditCheckpoint.objects.filter(instance__isnull=True).aggregate(Max("signed_at"))
    Instance.objects.get_or_create(
        pk=1,
        defaults={
            "identifier": uuid.uuid4(),
            "legacy_checkpoints_until": newest["signed_at__max"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0009_instance")]
    operations = [migrations.RunPython(name_this_instance, migrations.RunPython.noop)]
