"""Shared fixtures: two member organisations, an agent of each, an outsider.

Tests run on SQLite unless DATABASE_URL is set. Tests marked ``postgres`` are skipped on
SQLite, ``browser`` tests where no Chromium is installed, ``redis`` tests unless CACHE_URL
names a Redis server; with MUTUALIS_REQUIRE_ALL_TESTS=1 (CI) any such skip fails the run.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation
from django_scopes import scope

from mutualis.core import audit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# The production cache, for the tests marked ``redis`` (every other test uses a LocMem one).
# Each pytest-xdist worker ("gw0", "gw1"…) takes its own Redis database (1, 2…), so that a
# test counting or flushing keys never meets another worker's.
def _redis_url_of_this_worker(url: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return url
    return urlunsplit(urlsplit(url)._replace(path=f"/{int(worker[2:]) + 1}"))


REDIS_URL = _redis_url_of_this_worker(
    os.environ.get("CACHE_URL", "")
    if os.environ.get("CACHE_URL", "").startswith(("redis://", "rediss://"))
    else ""
)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

_required_skips: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL"))
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(pytest.mark.skip(reason="needs Chromium: apt-get install chromium"))
        if "redis" in item.keywords and not REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set CACHE_URL=redis://…"))
    if hasattr(config, "workerinput"):
        _longest_files_first(items)


# --- The order of the files in parallel runs ---------------------------------------------
#
# pytest-xdist (``--dist loadfile``) hands each worker one file at a time, in the order of
# the collection when run with ``--no-loadscope-reorder`` (the Makefile's); by default it
# sorts files by their number of tests, which leaves the one-test files for the end: the
# demo's journeys and the browser's, the longest. A worker left alone with such a file
# keeps the run waiting. The longest files go first here (longest processing time first):
# those measured, then the others by an estimate of their tests' cost.
#
# Seconds of a PostgreSQL run (``--durations``, 2 workers, the machine shared, load 3 to 4;
# December 2026), the first file's database set-up left out; a file missing here is
# estimated, a renamed one merely loses its place. The fuzz run's cases share one node id,
# which the JUnit report of a parallel run merges: it was timed on its own.
MEASURED_SECONDS = {
    "tests/integration/test_api_fuzz.py": 90.0,
    "tests/integration/test_deposits_server_killed.py": 51.0,
    "tests/integration/test_hostile_input.py": 51.0,
    "tests/integration/test_tenancy_walk.py": 37.0,
    "tests/integration/test_territory_import.py": 24.0,
    "tests/integration/test_content_security_policy.py": 21.0,
    "tests/integration/test_deposits_opening.py": 17.5,
    "tests/integration/test_deploy_check.py": 15.0,
    "tests/integration/test_demo_journeys.py": 14.0,
    "tests/e2e/test_deposits_keys_browser.py": 24.0,
    "tests/e2e/test_directory_browser.py": 20.0,
    "tests/e2e/test_procurement_journey_browser.py": 19.0,
    "tests/e2e/test_procurement_browser.py": 18.5,
    "tests/e2e/test_group_purchase_browser.py": 18.0,
    "tests/e2e/test_deposits_page_browser.py": 17.5,
}


def _estimated_seconds(item: pytest.Item) -> float:
    if any(marker.name == "skip" for marker in item.iter_markers()):
        return 0.0
    if "browser" in item.keywords:
        return 10.0
    fixtures = set(getattr(item, "fixturenames", ()))
    database = item.get_closest_marker("django_db")
    if "live_server" in fixtures or (database and database.kwargs.get("transaction")):
        return 3.0
    if database or fixtures & {"db", "transactional_db"}:
        return 0.4
    return 0.02


def _longest_files_first(items: list[pytest.Item]) -> None:
    cost: dict[str, float] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        cost[path] = cost.get(path, 0.0) + _estimated_seconds(item)
    for path, seconds in MEASURED_SECONDS.items():
        if cost.get(path):  # not where its tests are skipped (PostgreSQL's on SQLite)
            cost[path] = seconds
    # Browser files last: a worker that ran one keeps Playwright's event loop running in
    # its main thread, and code that must then work off that loop (pyHanko's signing,
    # ``evidence.signatures.off_event_loop``) writes from a thread of its own, which an
    # in-memory SQLite database shared between connections refuses while the test's
    # transaction holds the table ("database table is locked"). Stable: a file's tests
    # keep their order.
    browser_files = {item.nodeid.split("::")[0] for item in items if "browser" in item.keywords}
    items.sort(
        key=lambda item: (
            item.nodeid.split("::")[0] in browser_files,
            -cost[item.nodeid.split("::")[0]],
        )
    )


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and any(m in report.keywords for m in ("postgres", "browser", "redis")):
        _required_skips.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("MUTUALIS_REQUIRE_ALL_TESTS") == "1" and _required_skips:
        print(  # noqa: T201
            "\nMUTUALIS_REQUIRE_ALL_TESTS: these PostgreSQL, browser or Redis tests were"
            " skipped:\n  " + "\n  ".join(_required_skips)
        )
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _fast_and_immediate(settings, tmp_path: Path) -> None:
    # Tests read the source (English) strings; French rendering has its own tests
    # (tests/integration/test_french_default.py, tests/unit/test_translations.py) and the
    # browser journeys that run in a French browser.
    settings.LANGUAGE_CODE = "en"
    translation.activate("en")
    # Argon2 is the production hasher; tests need not pay for it on every user.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "mutualis.identity.hashers.ClientSecretSHA256Hasher",
    ]
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MUTUALIS_AUDIT_SIGNING_KEY = ""
    settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH = tmp_path / "keys" / "audit.pem"
    settings.MUTUALIS_AUDIT_CHECKPOINT_FILE = tmp_path / "audit" / "checkpoints.jsonl"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        # The file store writes under the test's own directory, never var/files.
        "files": {
            "BACKEND": "mutualis.core.files.storage.DurableFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files", "base_url": None},
        },
    }
    audit.generate_signing_key(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH)
    # Sealed deposits' ciphertext, under the test's own directory.
    settings.MUTUALIS_DEPOSIT_DIR = tmp_path / "deposits"
    # The time-stamping authority's key and certificate, under the test's own directory
    # too; made by the tests that stamp (mutualis.evidence.authority.ensure_authority).
    settings.MUTUALIS_TSA_KEY = ""
    settings.MUTUALIS_TSA_KEY_PATH = tmp_path / "keys" / "tsa-key.pem"
    settings.MUTUALIS_TSA_CERTIFICATE = ""
    settings.MUTUALIS_TSA_CERTIFICATE_PATH = tmp_path / "keys" / "tsa-certificate.pem"
    # The receipt PDFs' signing key and certificate (deposits), likewise.
    settings.MUTUALIS_RECEIPT_SIGNING_KEY = ""
    settings.MUTUALIS_RECEIPT_SIGNING_KEY_PATH = tmp_path / "keys" / "receipt-key.pem"
    settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE = ""
    settings.MUTUALIS_RECEIPT_SIGNING_CERTIFICATE_PATH = tmp_path / "keys" / "receipt-cert.pem"
    settings.MUTUALIS_RECEIPT_TSA_URL = ""
    # The availability probe calls the services in the process; the tests that probe over
    # HTTP point it at their live server. Its client's secret file, under the test's own.
    settings.MUTUALIS_PROBE_URL = ""
    settings.MUTUALIS_PROBE_CLIENT_FILE = tmp_path / "keys" / "probe-client.json"
    # Rate-limit counters and OpenID codes live in the cache: a per-process one in tests
    # (the live server's threads share it), emptied so that none survives a test.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


class RateClock:
    """The rate limiter's clock (``mutualis.core.ratelimit``) in tests: standing still one
    second into a window of every period (minute, hour, day), so that the requests of a
    test all count in one window, whatever the real time; a test moves it itself to cross
    a window's end (``advance``). The real clock let "2/m" tests straddle a minute."""

    # 2027-01-01T00:00:01Z: a whole number of days since the epoch, plus one second.
    START = 1_798_761_601.0

    def __init__(self) -> None:
        self.now = self.START

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def rate_clock(monkeypatch) -> RateClock:
    clock = RateClock()
    # The module's own name for ``time``: nothing else reads this clock.
    monkeypatch.setattr("mutualis.core.ratelimit.time", clock)
    return clock


# The CPV vocabulary's rows as its data migration made them (10 000 codes, each label
# folded for the search): read once per process, restored after each flush rather than
# parsed and folded again; on PostgreSQL as COPY wrote them (a bulk insert of the rows
# took longer than the flush itself).
_cpv_rows: list[tuple[object, ...]] = []
_cpv_copy: list[bytes] = []


def _reseed_migration_data() -> None:
    """Re-apply the data migrations' rows (roles, services, fee categories, instance).

    Transactional tests (``transaction=True``, ``live_server``) end with a flush that empties
    every table, seeded rows included; the next test needs them back.
    """
    from django.apps import apps

    for module, function in [
        ("mutualis.core.migrations.0002_service_catalogue", "add_catalogue"),
        ("mutualis.core.migrations.0010_name_this_instance", "name_this_instance"),
        ("mutualis.identity.migrations.0002_roles", "add_roles"),
        ("mutualis.identity.migrations.0004_mfa_by_default", "require_mfa"),
        ("mutualis.legality.migrations.0002_roles", "add_roles"),
        ("mutualis.legality.migrations.0008_pes", "add_role"),
        ("mutualis.evaluation.migrations.0002_evaluator_role", "add_roles"),
    ]:
        getattr(importlib.import_module(module), function)(apps, None)
    _reseed_cpv_vocabulary(apps)


def _reseed_cpv_vocabulary(apps) -> None:
    from mutualis.core.models import CpvCode

    if CpvCode.objects.exists():
        return
    table = connection.ops.quote_name(CpvCode._meta.db_table)
    if _cpv_copy:
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
            for block in _cpv_copy:
                copy.write(block)
        return
    if _cpv_rows:
        columns = [connection.ops.quote_name(f.column) for f in CpvCode._meta.concrete_fields]
        values = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})",  # noqa: S608
                _cpv_rows,
            )
        return
    importlib.import_module("mutualis.core.migrations.0019_load_cpv_vocabulary").load(apps, None)
    _keep_cpv_vocabulary()


def _keep_cpv_vocabulary() -> None:
    from mutualis.core.models import CpvCode

    if _cpv_copy or _cpv_rows:
        return
    table = connection.ops.quote_name(CpvCode._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.copy(f"COPY {table} TO STDOUT") as copy:
            _cpv_copy.extend(bytes(block) for block in copy)
    else:
        columns = [connection.ops.quote_name(f.column) for f in CpvCode._meta.concrete_fields]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608
            _cpv_rows.extend(cursor.fetchall())


# Where the database blocker of pytest-django is kept once the test database exists, so
# that the rows can be put back between two tests, outside any test's transaction.
_DB_BLOCKER = pytest.StashKey[object]()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """The test database, with the data migrations' rows committed in it (a database kept
    by ``--reuse-db`` may have lost them in a flush)."""
    _restore_migration_rows(django_db_blocker)
    request.config.stash[_DB_BLOCKER] = django_db_blocker
    yield
    # Before the test database goes: nothing may be restored into the one it stood for.
    del request.config.stash[_DB_BLOCKER]


def _restore_migration_rows(blocker) -> None:
    from django.db import transaction

    from mutualis.identity.models import Role

    with blocker.unblock(), transaction.atomic():
        if not Role.objects.filter(pk="org_admin").exists():
            _reseed_migration_data()
        _keep_cpv_vocabulary()


def _flushes(item: pytest.Item) -> bool:
    """Whether the test runs as a ``TransactionTestCase`` (pytest-django's rule): its
    teardown empties every table."""
    if {"transactional_db", "live_server", "django_db_reset_sequences"} & set(
        getattr(item, "fixturenames", ())
    ):
        return True
    marker = item.get_closest_marker("django_db")
    if marker is None:
        return False
    return bool(
        marker.kwargs.get("transaction")
        or marker.kwargs.get("reset_sequences")
        or (marker.args and marker.args[0])
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After a transactional test's flush, the data migrations' rows are put back at once,
    committed: otherwise every later test would restore them (the 10 000 CPV codes) inside
    its own transaction, rolled back with it, one test after another."""
    result = yield
    blocker = item.config.stash.get(_DB_BLOCKER, None)
    if blocker is not None and _flushes(item):
        _restore_migration_rows(blocker)
    return result


# --- The flush of transactional tests on PostgreSQL ----------------------------------------
#
# A transactional test (``transaction=True``, ``live_server``) ends with Django's flush, a
# ``TRUNCATE`` of every table (about 140): on PostgreSQL each truncated table gets new
# files, a second or more per flush however few rows the test wrote. Here the flush
# empties only the tables that hold rows, with ``DELETE`` (every foreign key is checked at
# commit, as Django creates them); the tables whose trigger refuses ``DELETE`` (the
# append-only audit events, deposit log, messages) are truncated, with the tables that
# reference them. The tables end as empty as after the ``TRUNCATE``, but for the content
# types and permissions, which the flush's post_migrate signal would make again.


def _sql_flush_of_written_tables(original):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if not tables or reset_sequences or allow_cascade:
            return original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        quote = self.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(
                    f"(SELECT %s FROM {quote(table)} LIMIT 1)"  # noqa: S608 - Django's tables
                    for table in tables
                ),
                list(tables),
            )
            written = {row[0] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT DISTINCT c.relname FROM pg_trigger t"
                " JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
            )
            guarded = {row[0] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT r.relname, f.relname, k.condeferrable FROM pg_constraint k"
                " JOIN pg_class r ON r.oid = k.conrelid"
                " JOIN pg_class f ON f.oid = k.confrelid WHERE k.contype = 'f'"
            )
            references = cursor.fetchall()
        if any(not deferrable and table in written for table, _, deferrable in references):
            # A foreign key checked at once would make the order of the DELETEs matter.
            return original(self, style, tables)
        # The content types and permissions: the flush's post_migrate signal makes the
        # same rows again, one query after another, when they are gone.
        written -= {"django_content_type", "auth_permission"}
        truncated = guarded & set(tables)
        while (
            extra := {table for table, target, _ in references if target in truncated} - truncated
        ):
            truncated |= extra
        statements = []
        if truncated & written:
            statements.append(f"TRUNCATE {', '.join(quote(t) for t in sorted(truncated))};")
        statements += [
            f"DELETE FROM {quote(table)};"  # noqa: S608 - Django's tables
            for table in sorted(written - truncated)
        ]
        return statements

    return sql_flush


@pytest.fixture(scope="session", autouse=True)
def _flush_what_was_written():
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        yield
        return
    from django.db.backends.postgresql.operations import DatabaseOperations

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            DatabaseOperations,
            "sql_flush",
            _sql_flush_of_written_tables(DatabaseOperations.sql_flush),
        )
        yield


@pytest.fixture(autouse=True)
def _seeded_rows(request) -> None:
    """Every test with database access finds the data migrations' rows, even after a
    transactional test (or a live server) flushed them: restored after the flush
    (``pytest_runtest_teardown``), else here, inside the test's transaction."""
    db_fixtures = {"db", "transactional_db", "live_server", "django_db_setup"}
    uses_db = db_fixtures & set(request.fixturenames)
    if not (request.node.get_closest_marker("django_db") or uses_db):
        return
    request.getfixturevalue("_django_db_helper")
    from mutualis.identity.models import Role

    if not Role.objects.filter(pk="org_admin").exists():
        _reseed_migration_data()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def make_org(db):
    from tests.factories.core import OrganisationFactory

    return OrganisationFactory


@pytest.fixture
def org_a(db):
    from tests.factories.core import OrganisationFactory

    return OrganisationFactory(name="Commune A", slug="commune-a", adhesion_status="member")


@pytest.fixture
def org_b(db):
    from tests.factories.core import OrganisationFactory

    return OrganisationFactory(name="Commune B", slug="commune-b", adhesion_status="member")


@pytest.fixture
def operator_org(db):
    from tests.factories.core import OrganisationFactory

    return OrganisationFactory(name="Opérateur", kind="operator", siren="")


@pytest.fixture
def agent_a(org_a):
    from tests.factories.identity import make_member
    from tests.factories.mfa import give_authenticator_app

    membership = make_member(org_a, "agent.a@example.org", roles=["org_admin", "buyer"])
    # Their roles require a second factor: without one, every page would lead to its set-up.
    give_authenticator_app(membership.user)
    return membership


@pytest.fixture
def agent_b(org_b):
    from tests.factories.identity import make_member
    from tests.factories.mfa import give_authenticator_app

    membership = make_member(org_b, "agent.b@example.org", roles=["org_admin", "buyer"])
    # Their roles require a second factor: without one, every page would lead to its set-up.
    give_authenticator_app(membership.user)
    return membership


@pytest.fixture
def operator_staff(operator_org):
    from tests.factories.identity import make_member
    from tests.factories.mfa import give_authenticator_app

    membership = make_member(operator_org, "staff@example.org", roles=["org_admin"])
    # Operator staff always need a second factor.
    give_authenticator_app(membership.user)
    return membership


@pytest.fixture
def outsider(db):
    from tests.factories.identity import UserFactory

    return UserFactory(email="outsider@example.org")


@pytest.fixture
def in_scope_of():
    """``with in_scope_of(org): ...`` — run ORM code as the organisation's request would."""
    return lambda organisation: scope(organisation=organisation.pk)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
