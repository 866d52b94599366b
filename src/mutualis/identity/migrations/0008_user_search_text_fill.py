"""Fold the e-mail addresses and names of the existing accounts into ``search_text``."""

from django.db import migrations

from mutualis.core.search import fold

BATCH_SIZE = 1000


def fill(apps, schema_editor):
    User = apps.get_model("identity", "User")
    rows = list(User.objects.only("pk", "email", "first_name", "last_name").order_by("pk"))
    for row in rows:
        row.search_text = fold(f"{row.email} {row.first_name} {row.last_name}")
    User.objects.bulk_update(rows, ["search_text"], batch_size=BATCH_SIZE)


class Migration(migrations.Migration):
    dependencies = [("identity", "0007_user_search_text")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
