"""The text index of the published consultations (PostgreSQL), for a search of the open
ones by words.

"Open" is read at the time of the search: published, and the deadline ahead. With the
text index over every public row, PostgreSQL ANDed a word's rows with the deadline
index's 30,000 published ones (it guessed 7,000: its statistics cannot know that the
published consultations are mostly those whose deadline is ahead), then read both
again for the page: 8.2 ms for ``chaufferie``. This index holds the published rows only
(a few minutes late, the periodic job closes the past ones): a word's open rows come
from it alone, and the deadline is checked on them (``search_sql``): 3.7 ms.

The index on ``(state, response_deadline)`` of every row (0001) goes: the open
consultations have their partial indexes (0012 and this one), the jobs read
``next_check``, and PostgreSQL still ANDed that index with the text index (it guessed a
quarter of the rows for "published", then multiplied): ``fourniture`` among the open
ones, 7 ms against 2.7 without it. bench/RESULTS.md, "procurement search".
"""

from django.db import migrations

OPEN = "state = 'published' AND parent_id IS NULL AND NOT is_test"
NAME = "consultation_open_text"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON procurement_consultation"
            f" USING gin (search_vector) WHERE {OPEN}"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0014_public_search_indexes"),
    ]

    operations = [
        migrations.RunPython(create, drop),
        migrations.RemoveIndex(model_name="consultation", name="procurement_state_60ae76_idx"),
    ]
