"""`mutualis setup` runs every release step; a second run changes nothing, and keys are
created when missing, never replaced."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.migrations.recorder import MigrationRecorder

from mutualis.core.instance import instance_identifier
from mutualis.core.models import FeeCategory, Service
from mutualis.core.release import release_steps

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key_paths(settings, tmp_path: Path) -> None:
    settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH = tmp_path / "release" / "audit.pem"
    settings.MUTUALIS_OIDC_PRIVATE_KEY = ""
    settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH = tmp_path / "release" / "oidc.pem"
    settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH = tmp_path / "release" / "oidc.previous.pem"


def setup() -> str:
    out = StringIO()
    call_command("setup", stdout=out)
    return out.getvalue()


def state(settings) -> dict:
    """What a release step may change: keys, instance, catalogue, applied migrations."""
    return {
        "audit_key": Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH).read_bytes(),
        "oidc_key": Path(settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH).read_bytes(),
        "instance": instance_identifier(),
        "services": list(Service.objects.order_by("code").values()),
        "fees": list(FeeCategory.objects.order_by("code").values()),
        "migrations": MigrationRecorder.Migration.objects.count(),
    }


def test_a_second_run_changes_nothing(settings):
    setup()
    before = state(settings)

    out = setup()

    assert state(settings) == before
    assert "No migrations to apply." in out
    assert "is already there" in out
    assert "exists" in out
    assert "0 rows created or corrected" in out


def test_missing_keys_are_created(settings):
    assert not Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH).exists()

    out = setup()

    assert Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH).exists()
    assert Path(settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH).exists()
    assert "Created the audit signing key" in out


def test_existing_keys_are_kept(settings):
    call_command("init_keys", stdout=StringIO())
    call_command("init_oidc_key", stdout=StringIO())
    audit_key = Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH).read_bytes()
    oidc_key = Path(settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH).read_bytes()

    setup()

    assert Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH).read_bytes() == audit_key
    assert Path(settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH).read_bytes() == oidc_key
    assert not Path(settings.MUTUALIS_OIDC_PREVIOUS_PRIVATE_KEY_PATH).exists()


def test_only_the_missing_key_is_created(settings):
    call_command("init_keys", stdout=StringIO())
    audit_key = Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH).read_bytes()

    setup()

    assert Path(settings.MUTUALIS_AUDIT_SIGNING_KEY_PATH).read_bytes() == audit_key
    assert Path(settings.MUTUALIS_OIDC_PRIVATE_KEY_PATH).exists()


def test_reference_data_is_brought_back_in_line():
    FeeCategory.objects.filter(code="epci").update(annual_fee=Decimal("1.00"))
    Service.objects.filter(code="website").delete()

    out = setup()

    assert FeeCategory.objects.get(code="epci").annual_fee == Decimal("1200.00")
    assert Service.objects.filter(code="website").exists()
    assert "2 rows created or corrected" in out


def test_the_steps_run_in_release_order():
    out = StringIO()
    call_command("setup", "--list", stdout=out)

    names = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert names == [step.name for step in release_steps()]
    assert names[0] == "migrate"
    assert names.index("instance") < names.index("audit_key")
