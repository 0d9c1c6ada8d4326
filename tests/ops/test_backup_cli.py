"""The CLI round trip as an operator runs it: back up one data directory, restore into an empty one.

On SQLite the second data directory starts with no database file at all; on PostgreSQL each side
gets a database of its own, created empty for the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

SOKHAN = [sys.executable, "-m", "sokhan.cli"]
SEED = """
import django; django.setup()
from sokhan.core.models import User
from sokhan.core.services import workspace_create, token_create
from sokhan.core.models import Membership
u = User.objects.create_user("mina@example.com", "quiet lantern orchard 42", full_name="مینا")
u.totp_secret = "JBSWY3DPEHPK3PXP"; u.totp_enabled = True; u.save()
ws = workspace_create(owner=u, name="کافه نادر")
token_create(actor=Membership.objects.get(user=u), name="ci", scopes=["read"])
"""
VERIFY = """
import django; django.setup()
from django.contrib.auth import authenticate
from sokhan.core.models import User
u = User.objects.get(email="mina@example.com")
assert u.totp_secret == "JBSWY3DPEHPK3PXP", "secret does not decrypt"
assert authenticate(email="mina@example.com", password="quiet lantern orchard 42") == u
print("verified")
"""


@pytest.fixture
def databases() -> Iterator[tuple[str | None, str | None]]:
    if connection.vendor != "postgresql":
        yield None, None
        return
    import psycopg

    params = connection.settings_dict
    admin = f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/postgres"
    names = [f"sokhan_bk_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(data_dir: Path, database_url: str | None, *args: str, script: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SOKHAN_ENCRYPTION_KEY"}}
    env.update(SOKHAN_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="sokhan.config.settings")
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [sys.executable, "-c", script] if script else [*SOKHAN, *args]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command[-1]}: {result.stdout}\n{result.stderr}"
    return result.stdout


def rows(dumped: str) -> list[dict[str, object]]:
    """Dumped rows; ciphertext is dropped since each dump encrypts afresh (VERIFY decrypts it)."""
    records: list[dict[str, object]] = json.loads(dumped)
    for record in records:
        fields = record["fields"]
        assert isinstance(fields, dict)
        if "totp_secret" in fields:
            assert str(fields.pop("totp_secret")).startswith("enc:v1:")
    return records


def test_backup_then_restore_into_an_empty_data_directory(
    tmp_path: Path, databases: tuple[str | None, str | None]
) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    target.mkdir()
    url_a, url_b = databases
    run(source, url_a, "migrate", "-v0")
    run(source, url_a, script=SEED)
    (source / "media").mkdir(exist_ok=True)
    (source / "media" / "logo.png").write_bytes(b"\x89PNG" + bytes(300))
    archive = tmp_path / "snapshot.tar.gz"
    run(source, url_a, "backup", "--output", str(archive))

    run(target, url_b, "restore", str(archive))

    dump = ["dumpdata", "--indent", "0", "-e", "sessions", "-e", "contenttypes", "-e", "auth.permission"]
    assert rows(run(target, url_b, *dump)) == rows(run(source, url_a, *dump))
    assert (target / "media" / "logo.png").read_bytes() == (source / "media" / "logo.png").read_bytes()
    assert "verified" in run(target, url_b, script=VERIFY)
