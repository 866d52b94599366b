"""Fold the names of the existing companies into ``search_name``."""

from django.db import migrations

from mutualis.core.search import fold

BATCH_SIZE = 1000


def fill(apps, schema_editor):
    Company = apps.get_model("companies", "Company")
    rows = list(Company.objects.only("pk", "name").order_by("pk"))
    for row in rows:
        row.search_name = fold(row.name)
    Company.objects.bulk_update(rows, ["search_name"], batch_size=BATCH_SIZE)


class Migration(migrations.Migration):
    dependencies = [("companies", "0003_company_search_name")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
