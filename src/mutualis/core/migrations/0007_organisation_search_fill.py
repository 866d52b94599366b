"""Fold the names of the organisations that exist into ``search_name``.

``fold`` is imported rather than copied: this migration must write what the running code
would write, and a later change of the folding rules ships its own migration that folds
again.
"""

from django.db import migrations

from mutualis.core.search import fold

BATCH_SIZE = 1000


def fill(apps, schema_editor):
    Organisation = apps.get_model("core", "Organisation")
    rows = list(Organisation.objects.only("pk", "name").order_by("pk"))
    for row in rows:
        row.search_name = fold(row.name)
    Organisation.objects.bulk_update(rows, ["search_name"], batch_size=BATCH_SIZE)


class Migration(migrations.Migration):
    dependencies = [("core", "0006_organisation_search_postgres")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
