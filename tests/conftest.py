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


def _reseed_migration_data() -> None:
    """Re-apply the data migrations' rows (roles, services, fee categories, instance).

    Transactional tests (``transaction=True``, ``live_server``) end with a flush that empties
    every table, seeded rows included; the next test needs them back.
    """
    from django.apps import apps

    for module, function in [
        ("mutualis.core.migrations.0002_service_catalogue", "add_catalogue"),
        ("mutualis.core.migrations.0010_name_this_instance", "name_this_instance"),
        ("mutualis.core.migrations.0019_load_cpv_vocabulary", "load"),
        ("mutualis.identity.migrations.0002_roles", "add_roles"),
        ("mutualis.identity.migrations.0004_mfa_by_default", "require_mfa"),
        ("mutualis.legality.migrations.0002_roles", "add_roles"),
        ("mutualis.legality.migrations.0008_pes", "add_role"),
        ("mutualis.evaluation.migrations.0002_evaluator_role", "add_roles"),
    ]:
        getattr(importlib.import_module(module), function)(apps, None)


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
