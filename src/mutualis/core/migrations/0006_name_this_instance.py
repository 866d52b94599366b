"""Give this database its instance identifier, once (see mutualis.core.instance)."""

import uuid

from django.db import migrations


def name_this_instance(apps, schema_editor):
    Instance = apps.get_model("core", "Instance")
    Instance.objects.get_or_create(pk=1, defaults={"identifier": uuid.uuid4()})


class Migration(migrations.Migration):
    dependencies = [("core", "0005_instance")]
    operations = [migrations.RunPython(name_this_instance, migrations.RunPython.noop)]
