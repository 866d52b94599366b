"""Make the public deposit log (``deposits_depositlogentry``) append-only in the database.

The same triggers as the audit events' (core 0003_audit_append_only), for the same
reasons: PostgreSQL refuses UPDATE and DELETE with a row trigger (TRUNCATE, which the
test runner's flush uses and which needs the owner's rights, fires none); SQLite refuses
UPDATE only, since Django's flush empties tables with ``DELETE FROM`` after transactional
tests. The published Merkle roots (``DepositLogRoot``, time-stamped) catch whatever the
owner of the database could still do.

SQLite drops a table's triggers when Django remakes the table (most ``AlterField`` and
``AddField`` operations): a later migration that changes ``deposits_depositlogentry``
must create the SQLite trigger again (tests/integration/test_deposits_api.py checks it is
there).
"""

from django.db import migrations
from django.db.migrations.operations.base import Operation

TABLE = "deposits_depositlogentry"
PG_FUNCTION = "deposits_depositlogentry_append_only"
PG_TRIGGER = "deposits_depositlogentry_append_only"
SQLITE_TRIGGER = "deposits_depositlogentry_no_update"

PG_CREATE = [
    f"""
    CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = 'the deposit log is append-only: ' || TG_OP || ' refused on '
                || OLD.deposit_reference,
            HINT = 'Entries are never changed nor removed.',
            ERRCODE = 'insufficient_privilege';
    END;
    $$;
    """,
    f"""
    CREATE TRIGGER {PG_TRIGGER}
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}();
    """,
]
PG_DROP = [
    f"DROP TRIGGER IF EXISTS {PG_TRIGGER} ON {TABLE};",
    f"DROP FUNCTION IF EXISTS {PG_FUNCTION}();",
]
SQLITE_CREATE = [
    f"""
    CREATE TRIGGER {SQLITE_TRIGGER}
    BEFORE UPDATE ON {TABLE}
    BEGIN
        SELECT RAISE(ABORT, 'the deposit log is append-only: UPDATE refused');
    END;
    """,
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {SQLITE_TRIGGER};"]


class AppendOnlyTrigger(Operation):
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
        return f"Refuse UPDATE and DELETE on {TABLE} (SQLite: UPDATE only)"

    @staticmethod
    def _run(schema_editor, statements_by_vendor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("deposits", "0002_deposit_by_api_client"),
    ]

    operations = [
        AppendOnlyTrigger(),
    ]
