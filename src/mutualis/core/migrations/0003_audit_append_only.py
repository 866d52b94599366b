"""Make the audit events append-only in the database itself.

PostgreSQL: a row trigger refuses UPDATE and DELETE on ``core_auditevent``. TRUNCATE is
left alone: it fires no row trigger, and the test runner flushes tables with it; it needs
the table owner's rights anyway, like disabling the trigger.

SQLite: a trigger refuses UPDATE only. A DELETE trigger would break Django's flush, which
empties tables with ``DELETE FROM`` on SQLite, after every ``transaction=True`` test and
every ``live_server`` test. A ``WHEN`` clause cannot tell the flush apart: it deletes the
tables in no fixed order and sets no flag a trigger could read. The hash chain and its
checkpoints still detect a deleted event on the embedded database.

Either trigger only guards against mistakes (a bulk update in a shell, a data migration):
whoever owns the database can disable it. Tampering is caught by ``audit_verify``.

SQLite drops a table's triggers when Django remakes the table, which it does for most
``AlterField`` and ``AddField`` operations: a later migration that changes
``core_auditevent`` must create the SQLite trigger again (the integration tests check
it is there).
"""

from django.db import migrations
from django.db.migrations.operations.base import Operation

PG_FUNCTION = "core_auditevent_append_only"
PG_TRIGGER = "core_auditevent_append_only"
SQLITE_TRIGGER = "core_auditevent_no_update"

PG_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = 'audit events are append-only: ' || TG_OP || ' refused on '
                || OLD.chain || '#' || OLD.sequence,
            HINT = 'Record a new event instead; see mutualis audit_verify.',
            ERRCODE = 'insufficient_privilege';
    END;
    $$;
    """,
    f"""
    CREATE TRIGGER {PG_TRIGGER}
    BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}();
    """,
]
PG_DROP = [
    f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON core_auditevent;",
    f"DROP FUNCTION IF EXISTS {PG_FUNCTION}();",
]
SQLITE_CREATE = [
    f"""
    CREATE TRIGGER {SQLITE_TRIGGER}
    BEFORE UPDATE ON core_auditevent
    BEGIN
        SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused');
    END;
    """,
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {SQLITE_TRIGGER};"]


class AppendOnlyTrigger(Operation):
    """Installs the triggers of this database's vendor; an operation of its own rather
    than RunPython, so that ``sqlmigrate`` shows the statements for review."""

    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label, state):
        pass  # no model changes

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, {"postgresql": PG_CREATE, "sqlite": SQLITE_CREATE})

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, {"postgresql": PG_DROP, "sqlite": SQLITE_DROP})

    def describe(self):
        return "Refuse UPDATE and DELETE on core_auditevent (SQLite: UPDATE only)"

    @staticmethod
    def _run(schema_editor, statements_by_vendor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            # No parameters: the driver takes the statement as it is, "$$" and all.
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_service_catalogue"),
    ]

    operations = [
        AppendOnlyTrigger(),
    ]
