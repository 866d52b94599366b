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
# Seconds of CI's PostgreSQL run (``--durations``, 2 workers, December 2026); a file
# missing here is estimated, a renamed one merely loses its place.
MEASURED_SECONDS = {
    "tests/integration/test_demo_journeys.py": 50.0,
    "tests/e2e/test_deposits_opening_browser.py": 31.0,
    "tests/integration/test_hostile_input.py": 30.0,
    "tests/integration/test_deposits_server_killed.py": 26.0,
    "tests/e2e/test_procurement_journey_browser.py": 23.0,
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
# folded for the search): read once per process, restored by a bulk insert after each
# flush rather than parsed and folded again.
_cpv_rows: list[dict[str, object]] = []


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
    if _cpv_rows:
        CpvCode.objects.bulk_create([CpvCode(**row) for row in _cpv_rows], batch_size=2000)
        return
    importlib.import_module("mutualis.core.migrations.0019_load_cpv_vocabulary").load(apps, None)
    _cpv_rows.extend(CpvCode.objects.values())


@pytest.fixture(autouse=True)
def _seeded_rows(request) -> None:
    """Every test with database access finds the data migrations' rows, even after a
    transactional test (or a live server) flushed them."""
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
