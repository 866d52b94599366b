"""PostgreSQL only: a trigram index over the folded names of organisations.

The directory finds an organisation by a word anywhere in its name ("apollinaire"):
``search_name LIKE '%apollinaire%'``. Without an index that scans the table (36,000
rows for the whole of France) on every request; a GIN index of trigrams (``pg_trgm``)
answers it, for words of three letters or more, from the index. The folding itself is
done once, in Python (``core.search.fold``), for both databases: the index only reads it.

``pg_trgm`` is a trusted extension (PostgreSQL 13 and later): the owner of the database
may create it without being superuser. SQLite has no such index: its scan of a demo
territory is quick.
"""

from django.db import migrations

FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS organisation_search_name_trgm"
    " ON core_organisation USING gin (search_name gin_trgm_ops)",
]
BACKWARDS = ["DROP INDEX IF EXISTS organisation_search_name_trgm"]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0005_organisation_search")]

    operations = [migrations.RunPython(_on_postgresql(FORWARDS), _on_postgresql(BACKWARDS))]
