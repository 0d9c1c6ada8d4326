"""sokhan check: every problem it can see gets one FAIL line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from sokhan.core import crypto
from sokhan.core.models import User

Runner = Callable[..., tuple[str, str]]
pytestmark = pytest.mark.django_db
Problems = Callable[[], list[str]]
SOKHAN = Path(sys.executable).parent / "sokhan"


@pytest.fixture
def healthy(datadir: Path) -> User:
    user = User.objects.create_user("totp@example.com", "quiet lantern orchard 42")
    user.totp_secret = "JBSWY3DPEHPK3PXP"
    user.save()
    return user


def test_healthy_install_passes_with_ok_lines(healthy: User, cmd: Runner) -> None:
    out, err = cmd("check")
    assert err == ""
    for name in ("django", "settings", "allowed hosts", "database", "migrations", "redis", "encryption key"):
        assert f"OK   {name}:" in out
    assert "OK   stored secrets: a sample from each of" in out
    assert "OK   data dir:" in out
    assert "All checks passed." in out


def test_unapplied_migration_fails(healthy: User, check_problems: Problems) -> None:
    MigrationRecorder(connection).record_unapplied("sessions", "0001_initial")
    fails = check_problems()
    assert fails == ["FAIL migrations: 1 unapplied (sessions.0001_initial); run `sokhan migrate`."]


def test_wrong_key_fails_on_the_stored_secret(healthy: User, keyfile: Path, check_problems: Problems) -> None:
    crypto.write_keys([Fernet.generate_key()])  # the key that encrypted the secret is gone
    fails = check_problems()
    assert len(fails) == 1
    assert fails[0].startswith(f"FAIL stored secrets: core.User.totp_secret pk={healthy.pk} cannot be decrypted")


def test_malformed_key_fails(healthy: User, keyfile: Path, check_problems: Problems) -> None:
    keyfile.write_text("this-is-not-a-fernet-key\n")
    crypto.fernet.cache_clear()
    fails = check_problems()
    assert fails == [f"FAIL encryption key: key #1 in {keyfile} is malformed (expected 32 url-safe base64 bytes)."]


def test_missing_key_file_with_stored_secrets_fails(healthy: User, keyfile: Path, check_problems: Problems) -> None:
    keyfile.unlink()
    fails = check_problems()
    assert len(fails) == 1
    assert fails[0].startswith(f"FAIL encryption key: no key file at {keyfile} but the database holds 1 encrypted")
    assert not keyfile.exists()  # check never invents a key


def test_env_key_is_checked_too(
    healthy: User, keyfile: Path, monkeypatch: pytest.MonkeyPatch, check_problems: Problems
) -> None:
    monkeypatch.setenv("SOKHAN_ENCRYPTION_KEY", Fernet.generate_key().decode())
    crypto.fernet.cache_clear()
    fails = check_problems()
    assert "FAIL stored secrets:" in fails[0] and "SOKHAN_ENCRYPTION_KEY" in fails[0]


def test_unreachable_redis_fails(healthy: User, settings: Any, check_problems: Problems) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    fails = check_problems()
    assert len(fails) == 1
    assert fails[0].startswith("FAIL redis: cannot reach redis://127.0.0.1:1/0:")


def test_reachable_redis_passes(healthy: User, settings: Any, cmd: Runner) -> None:
    settings.REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"
    out, _ = cmd("check")
    assert f"OK   redis: {settings.REDIS_URL} answers PING" in out


def test_data_dir_that_is_not_a_directory_fails(
    healthy: User, settings: Any, tmp_path: Path, check_problems: Problems
) -> None:
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("x")
    settings.DATA_DIR = not_a_dir
    fails = check_problems()
    assert fails == [f"FAIL data dir: {not_a_dir} is not a directory."]


def test_base_url_outside_allowed_hosts_fails(
    healthy: User, settings: Any, check_problems: Problems, cmd: Runner
) -> None:
    settings.BASE_URL = "https://social.example.org"
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    fails = check_problems()
    assert fails == [
        "FAIL allowed hosts: SOKHAN_BASE_URL host 'social.example.org' is not in SOKHAN_ALLOWED_HOSTS "
        "(127.0.0.1); links Sokhan sends would be refused."
    ]
    settings.ALLOWED_HOSTS = [".example.org"]
    out, _ = cmd("check")
    assert "OK   allowed hosts: .example.org" in out


def test_wildcard_hosts_refused_in_production(healthy: User, settings: Any, check_problems: Problems) -> None:
    settings.PRODUCTION = True
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["*"]
    fails = check_problems()
    assert "FAIL allowed hosts: SOKHAN_ALLOWED_HOSTS holds '*' in production; list the real host names." in fails


def test_djangos_own_list_tags_still_works(cmd: Runner) -> None:
    out, _ = cmd("check", list_tags=True)
    assert "models" in out.split()


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOKHAN_", "DATABASE_URL", "REDIS_URL"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["SOKHAN_DATA_DIR"] = str(data_dir)
    return env


@pytest.mark.slow
def test_real_process_fails_before_migrate_and_passes_after(tmp_path: Path, cmd: Runner) -> None:
    env = _env(tmp_path / "fresh")
    before = subprocess.run([SOKHAN, "check"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert before.returncode == 1
    assert "FAIL migrations:" in before.stderr and "run `sokhan migrate`" in before.stderr
    assert "OK   database: sqlite" in before.stdout
    migrate = subprocess.run([SOKHAN, "migrate", "-v0"], env=env, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    after = subprocess.run([SOKHAN, "check"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert after.returncode == 0, after.stdout + after.stderr
    assert "All checks passed." in after.stdout
    broken = subprocess.run(
        [SOKHAN, "check"],
        env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert broken.returncode == 1
    assert "FAIL redis: cannot reach redis://127.0.0.1:1/0" in broken.stderr
