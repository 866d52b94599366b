"""PostgreSQL only: the text search configuration ``mutualis_french`` (core.fulltext).

A copy of PostgreSQL's ``french`` whose words go through ``unaccent`` before the French
stemmer: "école", "Ecole" and "ECOLES" give one lexeme, in documents and in queries alike.
``unaccent`` is a trusted extension (PostgreSQL 13 and later): the owner of the database
may create it without being superuser (Debian ships it in ``postgresql-contrib``). SQLite
searches the folded ``search_text`` column instead.
"""

from django.db import migrations

FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'mutualis_french') THEN
        CREATE TEXT SEARCH CONFIGURATION mutualis_french (COPY = pg_catalog.french);
        ALTER TEXT SEARCH CONFIGURATION mutualis_french
          ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
      END IF;
    END $$
    """,
]
BACKWARDS = ["DROP TEXT SEARCH CONFIGURATION IF EXISTS mutualis_french"]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0016_redact_links_in_stored_emails")]

    operations = [migrations.RunPython(_on_postgresql(FORWARDS), _on_postgresql(BACKWARDS))]
