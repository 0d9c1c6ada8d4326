"""sokhan backup / restore: a round trip gives back every row of every model, media and keys."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from sokhan.core import crypto
from sokhan.core.models import Invitation, User, Workspace
from sokhan.core.services import workspace_create
from sokhan.ops.backup import snapshot

Runner = Callable[..., tuple[str, str]]
pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "quiet lantern orchard 42"
TOTP = "JBSWY3DPEHPK3PXP"


def populate(media: Path) -> User:
    owner = User.objects.create_user("owner@example.com", PASSWORD, full_name="مینا کریمی", timezone="Asia/Tehran")
    owner.totp_secret = TOTP
    owner.totp_enabled = True
    owner.save()
    other = User.objects.create_user("other@example.com", PASSWORD)
    group = Group.objects.create(name="editors")
    group.permissions.add(*Permission.objects.all()[:3])
    other.groups.add(group)
    ws = workspace_create(owner=owner, name="کافه نادر", slug="kafe")
    Invitation.objects.create(
        workspace=ws,
        email="new@example.com",
        role="editor",
        token_hash="a" * 64,
        invited_by=owner,
        expires_at=timezone.now() + timedelta(days=7, microseconds=123456),
    )
    session = SessionStore()
    session["user"] = owner.pk
    session.create()
    (media / "uploads" / "2026").mkdir(parents=True)
    (media / "uploads" / "2026" / "logo.png").write_bytes(bytes(range(256)) * 10)
    (media / "readme.txt").write_text("سلام")
    return owner


def every_row() -> dict[str, list[dict[str, Any]]]:
    """Every row of every model (auto-created m2m tables too), decrypted, in pk order."""
    return {
        m._meta.label: list(m._base_manager.order_by("pk").values())
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }


def media_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def wipe(datadir: Path, keyfile: Path) -> None:
    """Lose everything: the database, media, keys and the Django secret key file."""
    call_command("flush", interactive=False, verbosity=0)
    for path in sorted(datadir.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    keyfile.unlink()
    crypto.fernet.cache_clear()


def test_round_trip_restores_identical_data(datadir: Path, keyfile: Path, tmp_path: Path, cmd: Runner) -> None:
    (datadir / "django-secret.key").write_text("s" * 50)
    populate(datadir / "media")
    rows, files = every_row(), media_files(datadir / "media")
    keys = keyfile.read_text()
    archive = tmp_path / "b.tar.gz"

    out, _ = cmd("backup", output=archive)
    assert f"Backup written to {archive}" in out and "2 media file(s)" in out
    assert archive.stat().st_mode & 0o077 == 0

    wipe(datadir, keyfile)
    assert not User.objects.exists()

    out, _ = cmd("restore", str(archive))
    assert "2 media file(s)" in out

    assert every_row() == rows
    assert media_files(datadir / "media") == files
    assert keyfile.read_text() == keys
    assert (datadir / "django-secret.key").read_text() == "s" * 50
    owner = User.objects.get(email="owner@example.com")
    assert owner.totp_secret == TOTP
    assert authenticate(email="owner@example.com", password=PASSWORD) == owner
    assert User.objects.get(email="other@example.com").groups.get().permissions.count() == 3
    # Sequences continue after the restored ids (PostgreSQL needs them reset).
    fresh = User.objects.create_user("fresh@example.com", PASSWORD)
    assert fresh.pk > max(r["id"] for r in rows["core.User"])
    workspace_create(owner=fresh, name="Second")


def test_manifest_describes_the_snapshot(datadir: Path, tmp_path: Path, cmd: Runner) -> None:
    populate(datadir / "media")
    archive = tmp_path / "b.tar.gz"
    cmd("backup", output=archive)
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        names = set(tar.getnames())
    assert manifest["format_version"] == 1
    assert manifest["sokhan_version"]
    assert manifest["db_vendor"] == connection.vendor
    assert manifest["counts"]["core.user"] == 2
    assert manifest["counts"]["core.workspace"] == 1
    assert manifest["counts"]["sessions.session"] == 1
    assert "0001_initial" in manifest["migrations"]["core"]
    assert {"data.jsonl", "keys/encryption.key", "media/uploads/2026/logo.png", "media/readme.txt"} <= names
    assert set(manifest["files"]) == names - {"manifest.json"}


def test_restore_refuses_a_database_in_use_unless_forced(datadir: Path, tmp_path: Path, cmd: Runner) -> None:
    populate(datadir / "media")
    archive = tmp_path / "b.tar.gz"
    cmd("backup", output=archive)
    Workspace.objects.filter(slug="kafe").update(name="renamed after the backup")
    with pytest.raises(CommandError, match=r"already holds 2 users and 1 workspaces.*--force"):
        cmd("restore", str(archive))
    assert Workspace.objects.get().name == "renamed after the backup"

    _, err = cmd("restore", str(archive), force=True)
    assert Workspace.objects.get().name == "کافه نادر"
    assert "previous media directory was moved" in err
    assert (datadir / "media" / "readme.txt").read_text() == "سلام"


def test_restore_refuses_damaged_and_foreign_files(datadir: Path, tmp_path: Path, cmd: Runner) -> None:
    populate(datadir / "media")
    archive = tmp_path / "b.tar.gz"
    cmd("backup", output=archive)
    with pytest.raises(CommandError, match="already exists"):
        cmd("backup", output=archive)

    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(datadir / "media")
    # Same archive with data.jsonl altered but the manifest untouched.
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "data.jsonl":
                data = data.replace(b"owner@example.com", b"evil!@example.com")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(CommandError, match=r"data\.jsonl is damaged"):
        cmd("restore", str(damaged))
    assert not User.objects.exists()

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(CommandError, match=r"not a readable \.tar\.gz"):
        cmd("restore", str(junk))
    with pytest.raises(CommandError, match="no such backup file"):
        cmd("restore", str(tmp_path / "missing.tar.gz"))


def test_backup_refuses_unapplied_migrations(datadir: Path, tmp_path: Path, cmd: Runner) -> None:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    recorder.record_unapplied("sessions", "0001_initial")
    try:
        with pytest.raises(CommandError, match=r"unapplied migration\(s\) \(sessions.0001_initial\)"):
            cmd("backup", output=tmp_path / "b.tar.gz")
    finally:
        recorder.record_applied("sessions", "0001_initial")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "keys"]  # no archive, no leftovers


def test_snapshot_does_not_see_writes_that_commit_after_it_starts(datadir: Path) -> None:
    User.objects.create_user("before@example.com", PASSWORD)

    def write_elsewhere() -> None:
        try:
            User.objects.create_user("during@example.com", PASSWORD)
        finally:
            connections.close_all()

    with snapshot(connection):
        assert User.objects.count() == 1
        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        writer.join(timeout=30)
        assert User.objects.filter(email="during@example.com").count() == 0
        assert User.objects.count() == 1
    assert User.objects.count() == 2
