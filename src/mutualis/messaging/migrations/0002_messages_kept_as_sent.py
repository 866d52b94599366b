"""Keep the messages as sent, in the database too: no edit, no delete.

A message belongs to the procedure's file. The only change a message row ever takes is
its read receipt, written once (``read_at`` and ``read_by`` while ``read_at`` is empty);
any other UPDATE is refused, and so is a DELETE on PostgreSQL. SQLite refuses UPDATE only,
since Django's flush empties tables with ``DELETE FROM`` after transactional tests (as the
deposit log's triggers, deposits 0003). The attached files' rows take no change at all.

SQLite drops a table's triggers when Django remakes the table (most ``AlterField`` and
``AddField`` operations): a later migration that changes these tables must create the
SQLite triggers again (tests/integration/test_messaging_threads.py checks they hold).
"""

from django.db import migrations
from django.db.migrations.operations.base import Operation

MESSAGE = "messaging_message"
ATTACHMENT = "messaging_attachment"
# Every column but the read receipt's.
KEPT = (
    "id",
    "organisation_id",
    "company_id",
    "thread_id",
    "side",
    "author_id",
    "kind",
    "subject",
    "body",
    "reply_by",
    "sent_at",
    "digest",
    "timestamp_token",
)

PG_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION messaging_message_kept() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.read_at IS NULL
            AND ({", ".join("NEW." + c for c in KEPT)})
                IS NOT DISTINCT FROM ({", ".join("OLD." + c for c in KEPT)}) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION USING
            MESSAGE = 'messages are kept as sent: ' || TG_OP || ' refused on message '
                || OLD.id,
            HINT = 'Only the first reading is recorded; nothing else changes.',
            ERRCODE = 'insufficient_privilege';
    END;
    $$;
    """,
    f"""
    CREATE TRIGGER messaging_message_kept
    BEFORE UPDATE OR DELETE ON {MESSAGE}
    FOR EACH ROW EXECUTE FUNCTION messaging_message_kept();
    """,
    """
    CREATE OR REPLACE FUNCTION messaging_attachment_kept() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = 'attachments are kept as sent: ' || TG_OP || ' refused',
            ERRCODE = 'insufficient_privilege';
    END;
    $$;
    """,
    f"""
    CREATE TRIGGER messaging_attachment_kept
    BEFORE UPDATE OR DELETE ON {ATTACHMENT}
    FOR EACH ROW EXECUTE FUNCTION messaging_attachment_kept();
    """,
]
PG_DROP = [
    f"DROP TRIGGER IF EXISTS messaging_message_kept ON {MESSAGE};",
    "DROP FUNCTION IF EXISTS messaging_message_kept();",
    f"DROP TRIGGER IF EXISTS messaging_attachment_kept ON {ATTACHMENT};",
    "DROP FUNCTION IF EXISTS messaging_attachment_kept();",
]
SQLITE_CREATE = [
    f"""
    CREATE TRIGGER messaging_message_kept
    BEFORE UPDATE ON {MESSAGE}
    WHEN OLD.read_at IS NOT NULL OR {" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in KEPT)}
    BEGIN
        SELECT RAISE(ABORT, 'messages are kept as sent: UPDATE refused');
    END;
    """,
    f"""
    CREATE TRIGGER messaging_attachment_kept
    BEFORE UPDATE ON {ATTACHMENT}
    BEGIN
        SELECT RAISE(ABORT, 'attachments are kept as sent: UPDATE refused');
    END;
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS messaging_message_kept;",
    "DROP TRIGGER IF EXISTS messaging_attachment_kept;",
]


class KeptAsSent(Operation):
    """Installs the triggers of this database's vendor (an operation of its own, so that
    ``sqlmigrate`` shows the statements)."""

    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label, state):
        pass  # no model changes

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE})

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, {"postgresql": PG_DROP, "sqlite": SQLITE_DROP})

    def describe(self):
        return f"Refuse changing {MESSAGE} (but its first reading) and {ATTACHMENT}"

    @staticmethod
    def _run(schema_editor, statements_by_vendor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_threads_and_messages"),
    ]

    operations = [
        KeptAsSent(),
    ]
