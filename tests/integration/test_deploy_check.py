"""With production values, `mutualis check --deploy` reports nothing."""

import os
import subprocess
import sys
from pathlib import Path


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
