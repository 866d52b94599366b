"""Text and CPV indexes of the public consultations only (PostgreSQL), for the portal's
search and its API.

The portal searches the public consultations (published, closed or cancelled; a first
phase, never an offer phase nor the test consultation: ``crossings``). With the text
index over every row, PostgreSQL ANDed it with the index on ``(state,
response_deadline)`` to keep the public rows (all 100,000 of them) before counting a
word's 1,001 first rows: 11 ms of the server's time for ``toiture`` where the count
itself costs 3. A partial index whose condition is the public one answers the words
and the CPV prefixes alone, the public condition proven by its definition:

- ``consultation_public_text``: ``search_vector`` (GIN) of the public rows;
- ``consultation_public_cpv``: ``cpv_prefixes`` (GIN, ``jsonb_path_ops``) of the public
  rows, which the CPV filter reads instead of filtering the rows one by one.

The indexes over every row (0002, 0009) stay for now, though every search today (the
portal, its Atom feed, the API) reads public rows only: dropping them would spare
each save two index insertions.
bench/RESULTS.md, "procurement search".
"""

from django.db import migrations

PUBLIC = "state IN ('published', 'closed', 'cancelled') AND parent_id IS NULL AND NOT is_test"
INDEXES = {
    "consultation_public_text": "USING gin (search_vector)",
    "consultation_public_cpv": "USING gin (cpv_prefixes jsonb_path_ops)",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, columns in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON procurement_consultation {columns}"
                f" WHERE {PUBLIC}"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0013_negotiation_rounds"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
