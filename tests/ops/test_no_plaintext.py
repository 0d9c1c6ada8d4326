"""Dumps of the database and backup archives hold ciphertext, never a plaintext secret."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from sokhan.core import crypto
from sokhan.core.models import User
from sokhan.ops.ciphertext import all_encrypted_fields

Runner = Callable[..., tuple[str, str]]
pytestmark = pytest.mark.django_db(transaction=True)
PLAIN = "PLAINTEXTSECRET7Q2WXYZ"


def store_secrets() -> list[str]:
    """Put a distinct plaintext into every encrypted column of the user model."""
    user = User.objects.create_user("totp@example.com", "quiet lantern orchard 42")
    secrets = []
    for model, name in all_encrypted_fields():
        if model is User:
            value = f"{PLAIN}-{name}"
            setattr(user, name, value)
            secrets.append(value)
    user.save()
    assert User.objects.get(pk=user.pk).totp_secret == f"{PLAIN}-totp_secret"
    return secrets


def database_dump() -> bytes:
    """Everything the database holds, as bytes, by the vendor's own means."""
    if connection.vendor == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        # Read the files from another process: closing a descriptor of the database file in this
        # process would drop the POSIX locks SQLite holds here, and a worker process could then
        # remove the WAL files under this process's open connections.
        files = [str(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
        raw = subprocess.run(["cat", *files], capture_output=True, check=True, timeout=60).stdout
        connection.ensure_connection()
        db = connection.connection
        assert db is not None
        return raw + "\n".join(db.iterdump()).encode()
    settings = connection.settings_dict
    if shutil.which("pg_dump"):
        cmd = [
            "pg_dump",
            "--no-owner",
            "-h",
            settings["HOST"] or "127.0.0.1",
            "-p",
            str(settings["PORT"] or 5432),
        ]
        cmd += ["-U", settings["USER"] or "postgres", settings["NAME"]]
        env = {"PGPASSWORD": settings["PASSWORD"] or ""}
        return subprocess.run(cmd, capture_output=True, check=True, timeout=120, env=env).stdout
    chunks: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb')"
        )
        for table, column in cursor.fetchall():
            cursor.execute(f'SELECT "{column}"::text FROM "{table}"')  # noqa: S608 - names from the catalog
            chunks.extend(str(v) for (v,) in cursor.fetchall())
    return "\n".join(chunks).encode()


def test_database_dump_holds_no_plaintext_secret(keyfile: Path) -> None:
    secrets = store_secrets()
    dump = database_dump()
    assert crypto.PREFIX.encode() in dump
    for secret in secrets:
        assert secret.encode() not in dump
    assert PLAIN.encode() not in dump


def test_backup_archive_holds_no_plaintext_secret(datadir: Path, tmp_path: Path, cmd: Runner) -> None:
    store_secrets()
    archive = tmp_path / "backup.tar.gz"
    cmd("backup", output=archive)
    with tarfile.open(archive) as tar:
        contents = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    assert crypto.PREFIX.encode() in contents["data.jsonl"]
    for name, data in contents.items():
        assert PLAIN.encode() not in data, f"plaintext secret found in {name}"
