"""Configuration from the environment, and the production guard."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DEBUG, settings.DATABASES['default']['ENGINE'])"
)


def load(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SOKHAN_", "DATABASE_URL", "REDIS_URL"))}
    clean.update({"SOKHAN_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "sokhan.config.settings"}, **env)
    return subprocess.run([sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, timeout=60)


def test_local_defaults_are_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    result = load(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3"]
    assert (tmp_path / "django-secret.key").exists()


def test_database_url_selects_postgresql(tmp_path: Path) -> None:
    result = load(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/anything")
    assert result.stdout.split()[1] == "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SOKHAN_DEBUG": "1", "SOKHAN_SECRET_KEY": "x" * 50}, "SOKHAN_DEBUG must be off"),
        ({}, "SOKHAN_SECRET_KEY must be set"),
        ({"SOKHAN_SECRET_KEY": "changeme"}, "SOKHAN_SECRET_KEY must be set"),
    ],
)
def test_production_refuses_debug_or_default_key(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = load(tmp_path, SOKHAN_ENV="production", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_production_starts_with_a_real_key(tmp_path: Path) -> None:
    result = load(tmp_path, SOKHAN_ENV="production", SOKHAN_SECRET_KEY="k" * 20 + "Q7x!" * 5)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"
