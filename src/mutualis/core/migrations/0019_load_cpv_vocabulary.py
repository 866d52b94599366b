"""Load the CPV 2008 vocabulary vendored in ``core/data/cpv`` (see its SOURCE.md).

A data migration rather than a step of ``mutualis setup``: the vocabulary is a fixed
official publication (CPV 2008, 2013 edition), not something an operator adjusts, and
every database — a test database included — must hold it before any consultation names
a code, since a code is validated against this table. A revision of the vocabulary ships
its own migration. ``fold`` is imported rather than copied, as in ``0007``: the stored
folding must be the running code's.
"""

import csv
from pathlib import Path

from django.db import migrations

from mutualis.core.search import fold

DATA = Path(__file__).resolve().parent.parent / "data" / "cpv"
FILES = [("cpv_2008.csv", False), ("cpv_2008_supplementary.csv", True)]
BATCH_SIZE = 2000


def rows():
    for name, supplementary in FILES:
        with (DATA / name).open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield row, supplementary


def load(apps, schema_editor):
    CpvCode = apps.get_model("core", "CpvCode")
    if CpvCode.objects.exists():
        return
    CpvCode.objects.bulk_create(
        [
            CpvCode(
                code=row["code"],
                check_digit=row["check_digit"],
                label_fr=row["label_fr"],
                label_en=row["label_en"],
                supplementary=supplementary,
                search_text=fold(f"{row['code']} {row['label_fr']} {row['label_en']}"),
            )
            for row, supplementary in rows()
        ],
        batch_size=BATCH_SIZE,
    )


def unload(apps, schema_editor):
    apps.get_model("core", "CpvCode").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0018_cpv_code")]

    operations = [migrations.RunPython(load, unload)]
