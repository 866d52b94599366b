"""Indexes of the consultations open for responses (PostgreSQL), for the portal's search.

"Open" is read at request time (``state = 'published' AND response_deadline > now``,
``search.apply``), and a third of the public consultations are: the index on
``(state, response_deadline)`` then hands the heap 30,000 rows to check one by one
(17 ms to count a département's open consultations on 100,000). Partial indexes on the
open public rows only (a published first phase, never an offer phase nor the test
consultation, as ``crossings`` reads them):

- ``consultation_open``: by deadline, for the words of an open search (ANDed with the
  text index) and the "soonest deadline" order;
- ``consultation_open_buyer``: by buyer then deadline, so that counting the open
  consultations of a département's buyers reads the index alone (0.5 ms).

bench/RESULTS.md, "procurement search".
"""

from django.db import migrations

OPEN = "state = 'published' AND parent_id IS NULL AND NOT is_test"
INDEXES = {
    "consultation_open": "(response_deadline, id)",
    "consultation_open_buyer": "(organisation_id, response_deadline)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, columns in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON procurement_consultation {columns}"
                f" WHERE {OPEN}"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0011_offer_phase"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
