"""With production values, `mutualis check --deploy` reports nothing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mutualis.identity import checks
from mutualis.identity.models import User


def test_check_deploy_is_clean_with_production_values(tmp_path: Path):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "k" * 20 + "production-secret-value-with-enough-entropy-" + "x" * 20,
        "ALLOWED_HOSTS": "marches.example.fr",
        "MUTUALIS_HTTPS": "true",
        "MUTUALIS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "mutualis", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- Demo accounts never on a production instance --------------------------------------


def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "k" * 20 + "production-secret-value-with-enough-entropy-" + "x" * 20,
        "ALLOWED_HOSTS": "marches.example.fr",
        "MUTUALIS_HTTPS": "true",
        "MUTUALIS_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }


def mutualis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, arguments of this test
        [sys.executable, "-m", "mutualis", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_seed_demo_refuses_a_production_configuration(tmp_path: Path):
    result = mutualis(production_env(tmp_path), "seed_demo")
    assert result.returncode == 1
    assert "Refused: this instance is not configured as a demo" in result.stderr
    assert "MUTUALIS_DEMO=true" in result.stderr


@pytest.mark.django_db
def test_check_deploy_warns_when_demo_accounts_exist():
    """The deploy check is clean without demo accounts and warns (identity.W001) once the
    database holds one. In-process: the subprocess test above already runs
    `check --deploy` with production values; migrating a fresh database for this one
    only cost half a minute of the suite."""
    assert checks.demo_accounts() == []
    User.objects.create(email="operateur@mutualis.localhost")
    (warning,) = checks.demo_accounts()
    assert warning.id == "identity.W001"
    assert "1 account(s) with an address ending in '.localhost'" in warning.msg
    # Registered for --deploy only, under the security tag.
    from django.core.checks import registry

    assert checks.demo_accounts in registry.registry.get_checks(include_deployment_checks=True)
    assert checks.demo_accounts not in registry.registry.get_checks()
