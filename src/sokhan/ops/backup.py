"""Backups: one ``.tar.gz`` holding a consistent database snapshot, media and key material.

Archive layout::

    data.jsonl               every row of every model (Django's JSON Lines serializer, plain pks)
    media/...                the uploaded files under MEDIA_ROOT
    keys/encryption.key      the Fernet keys, newest first (encrypted values in data.jsonl need them)
    keys/django-secret.key   the generated Django secret key, when the install uses one
    manifest.json            format version, Sokhan version, time, vendor, row counts, migrations,
                             and a SHA-256 of every other member

The database part is read in one transaction: REPEATABLE READ, READ ONLY on PostgreSQL, one read
transaction on SQLite (WAL keeps writers going while it reads), so every table comes from one moment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import shutil
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connections,
    models,
    router,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from sokhan.core import crypto
from sokhan.ops.errors import OpsError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data.jsonl"
MEDIA_PREFIX = "media/"
KEYS = "keys/encryption.key"
DJANGO_SECRET = "keys/django-secret.key"  # noqa: S105 - a file name
DJANGO_SECRET_FILE = "django-secret.key"  # noqa: S105 - a file name
CHUNK = 1 << 16


class ExactJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder cuts microseconds to milliseconds; a backup must keep them."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime | dt.time):
            return o.isoformat()
        return super().default(o)


@dataclass
class BackupResult:
    path: Path
    counts: dict[str, int]
    media_files: int


@dataclass
class RestoreResult:
    counts: dict[str, int]
    media_files: int
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- helpers


def sokhan_version() -> str:
    try:
        return importlib.metadata.version("sokhan")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def dump_models() -> list[type[models.Model]]:
    """Concrete models stored in the default database, parents before children."""
    app_list = [(cfg, None) for cfg in apps.get_app_configs() if cfg.models_module is not None]
    ordered = serializers.sort_dependencies(app_list, allow_cycles=True)
    return [
        m for m in ordered if m._meta.managed and not m._meta.proxy and router.allow_migrate_model(DEFAULT_DB_ALIAS, m)
    ]


def _connection() -> BaseDatabaseWrapper:
    return connections[DEFAULT_DB_ALIAS]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Counted(Iterator[models.Model]):
    """Passes rows through to the serializer and counts them."""

    def __init__(self, rows: Iterator[models.Model]) -> None:
        self._rows = rows
        self.n = 0

    def __next__(self) -> models.Model:
        row = next(self._rows)
        self.n += 1
        return row


class _HashingReader:
    """Hands a file to tarfile while hashing exactly the bytes that went into the archive."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self.digest.update(data)
        return data


def pending_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]


def applied_migrations(connection: BaseDatabaseWrapper) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


@contextmanager
def snapshot(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """One read-only view of the whole database for the duration of the block."""
    if connection.in_atomic_block:
        raise OpsError("A backup must start outside an open transaction, or it could not see one snapshot.")
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    elif connection.vendor == "sqlite":
        # A DEFERRED transaction takes no write lock; in WAL mode its first read fixes the snapshot.
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
            cursor.execute("SELECT count(*) FROM sqlite_master")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
    else:
        with transaction.atomic(using=connection.alias):
            yield


# ---------------------------------------------------------------- backup


def default_backup_name(now: dt.datetime | None = None) -> str:
    return f"sokhan-backup-{(now or timezone.now()).strftime('%Y%m%dT%H%M%SZ')}.tar.gz"


def backup_create(output: Path | None = None) -> BackupResult:
    output = (output or Path.cwd() / default_backup_name()).resolve()
    if output.exists():
        raise OpsError(f"--output: {output} already exists; choose another name (backups never overwrite).")
    if not output.parent.is_dir():
        raise OpsError(f"--output: the directory {output.parent} does not exist.")
    connection = _connection()
    try:
        pending = pending_migrations(connection)
    except DatabaseError as exc:
        raise OpsError(f"Cannot read the database: {exc}") from None
    if pending:
        raise OpsError(
            f"The database has {len(pending)} unapplied migration(s) ({', '.join(pending[:3])}); "
            "run `sokhan migrate` before backing up."
        )
    work = Path(tempfile.mkdtemp(dir=output.parent, prefix=".sokhan-backup-"))
    try:
        data_path = work / DATA
        counts: dict[str, int] = {}
        with snapshot(connection):
            created = timezone.now()
            migrations = applied_migrations(connection)
            with open(os.open(data_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as fh:
                for model in dump_models():
                    rows = _Counted(model._base_manager.using(connection.alias).order_by("pk").iterator(2000))
                    serializers.serialize("jsonl", rows, stream=fh, cls=ExactJSONEncoder)
                    counts[model._meta.label_lower] = rows.n
        files: dict[str, str] = {}
        archive = work / "archive.tar.gz"
        media_files = 0
        with tarfile.open(archive, "w:gz") as tar:
            files[DATA] = _sha256(data_path)
            tar.add(data_path, arcname=DATA)
            media_files = _add_media(tar, Path(settings.MEDIA_ROOT), files)
            _add_bytes(tar, KEYS, b"".join(k + b"\n" for k in crypto.read_keys()), files)
            secret = Path(settings.DATA_DIR) / DJANGO_SECRET_FILE
            if secret.is_file():
                _add_bytes(tar, DJANGO_SECRET, secret.read_bytes(), files)
            manifest = {
                "format_version": FORMAT_VERSION,
                "sokhan_version": sokhan_version(),
                "created_at": created.isoformat(),
                "db_vendor": connection.vendor,
                "counts": counts,
                "migrations": migrations,
                "key_source": "env" if os.environ.get("SOKHAN_ENCRYPTION_KEY", "").strip() else "file",
                "files": files,
            }
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode(), None)
        with archive.open("rb") as fh:
            os.fsync(fh.fileno())
        archive.chmod(0o600)  # it holds the encryption key
        os.replace(archive, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(path=output, counts=counts, media_files=media_files)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, files: dict[str, str] | None) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(timezone.now().timestamp())
    tar.addfile(info, _BytesReader(data))
    if files is not None:
        files[name] = hashlib.sha256(data).hexdigest()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + size
        chunk = bytes(self._data[self._pos : end])
        self._pos += len(chunk)
        return chunk


def _add_media(tar: tarfile.TarFile, root: Path, files: dict[str, str]) -> int:
    if not root.is_dir():
        return 0
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            arcname = MEDIA_PREFIX + path.relative_to(root).as_posix()
            with path.open("rb") as fh:
                info = tar.gettarinfo(fileobj=fh, arcname=arcname)
                reader = _HashingReader(fh)
                tar.addfile(info, reader)
            files[arcname] = reader.digest.hexdigest()
            count += 1
    return count


# ---------------------------------------------------------------- restore


def read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise OpsError(f"{path}: no such backup file.")
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise OpsError(f"{path}: not a readable .tar.gz archive ({exc}).") from None
    except KeyError:
        raise OpsError(f"{path}: not a Sokhan backup (no {MANIFEST}).") from None
    except ValueError as exc:
        raise OpsError(f"{path}: {MANIFEST} is not valid JSON ({exc}).") from None
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise OpsError(
            f"{path}: backup format version {version!r} is not supported (this Sokhan reads {FORMAT_VERSION})."
        )
    for key in ("counts", "files", "migrations"):
        if not isinstance(manifest.get(key), dict):
            raise OpsError(f"{path}: {MANIFEST} lacks {key!r}.")
    if DATA not in manifest["files"] or KEYS not in manifest["files"]:
        raise OpsError(f"{path}: {MANIFEST} does not list {DATA} and {KEYS}.")
    return manifest


def _extract(path: Path, manifest: dict[str, Any], into: Path) -> None:
    listed: dict[str, str] = manifest["files"]
    with tarfile.open(path, "r:gz") as tar:
        names = {m.name for m in tar.getmembers() if m.isfile()} - {MANIFEST}
        missing = sorted(set(listed) - names)
        extra = sorted(names - set(listed))
        if missing or extra:
            raise OpsError(f"{path}: archive members do not match the manifest (missing {missing}, unlisted {extra}).")
        tar.extractall(into, filter="data")
    for name, digest in listed.items():
        if _sha256(into / name) != digest:
            raise OpsError(f"{path}: {name} is damaged (checksum mismatch).")


def _database_in_use(connection: BaseDatabaseWrapper) -> str:
    from sokhan.core.models import User, Workspace

    tables = set(connection.introspection.table_names())
    found = []
    for model in (User, Workspace):
        if model._meta.db_table in tables and model._base_manager.exists():
            found.append(f"{model._base_manager.count()} {model._meta.verbose_name_plural}")
    return " and ".join(found)


def _restore_keys(extracted: Path, warnings: list[str]) -> None:
    backup_keys = [k.strip().encode() for k in (extracted / KEYS).read_text().splitlines() if k.strip()]
    if not backup_keys:
        raise OpsError(f"{KEYS} in the backup is empty.")
    if os.environ.get("SOKHAN_ENCRYPTION_KEY", "").strip():
        env_keys = crypto.read_keys()
        if backup_keys[0] not in env_keys:
            raise OpsError(
                "SOKHAN_ENCRYPTION_KEY does not hold the backup's key, so its secrets could not be "
                "decrypted. "
                f"Add the first line of {KEYS} from the archive to SOKHAN_ENCRYPTION_KEY, or unset it to use "
                "the key file."
            )
        return
    path = crypto.key_file()
    existing = [k.strip().encode() for k in path.read_text().splitlines() if k.strip()] if path.exists() else []
    kept = [k for k in existing if k not in backup_keys]
    if kept:
        warnings.append(f"{len(kept)} key(s) already in {path} were kept after the backup's keys (decrypt only).")
    write_atomic(path, b"".join(k + b"\n" for k in [*backup_keys, *kept]))
    crypto.fernet.cache_clear()


def _load(extracted: Path, manifest: dict[str, Any], connection: BaseDatabaseWrapper) -> dict[str, int]:
    counts: Counter[str] = Counter()
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    try:
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                for sql in connection.ops.sql_flush(no_style(), tables):
                    cursor.execute(sql)
            with (extracted / DATA).open(encoding="utf-8") as fh:
                for obj in serializers.deserialize("jsonl", fh, using=connection.alias):
                    obj.save(using=connection.alias)
                    counts[obj.object._meta.label_lower] += 1
            expected = {k: v for k, v in manifest["counts"].items() if v}
            if dict(counts) != expected:
                diff = sorted(k for k in set(expected) | set(counts) if expected.get(k, 0) != counts.get(k, 0))
                raise OpsError(f"Loaded row counts differ from the manifest for {', '.join(diff)}; nothing restored.")
            reset = connection.ops.sequence_reset_sql(no_style(), apps.get_models(include_auto_created=True))
            with connection.cursor() as cursor:
                for sql in reset:
                    cursor.execute(sql)
    except serializers.base.DeserializationError as exc:
        raise OpsError(f"{DATA} could not be loaded: {exc}. Nothing was restored.") from None
    except IntegrityError as exc:
        raise OpsError(f"{DATA} violates a database constraint: {exc}. Nothing was restored.") from None
    except crypto.SecretDecryptError as exc:
        raise OpsError(f"An encrypted value in the backup does not open with its key: {exc}") from None
    return dict(counts)


def _restore_media(extracted: Path, force: bool, warnings: list[str]) -> int:
    source = extracted / MEDIA_PREFIX.rstrip("/")
    if not source.is_dir():
        return 0
    target = Path(settings.MEDIA_ROOT)
    count = sum(1 for p in source.rglob("*") if p.is_file())
    staged = Path(tempfile.mkdtemp(dir=target.parent, prefix=".media-restore-"))
    staged.rmdir()
    shutil.move(source, staged)
    if target.exists():
        if any(target.iterdir()) and force:
            aside = target.with_name(f"{target.name}.before-restore-{timezone.now():%Y%m%dT%H%M%S}")
            target.rename(aside)
            warnings.append(f"The previous media directory was moved to {aside}.")
        else:
            shutil.rmtree(target)
    os.replace(staged, target)
    return count


def backup_restore(path: Path, *, force: bool = False) -> RestoreResult:
    path = path.resolve()
    manifest = read_manifest(path)
    connection = _connection()
    warnings: list[str] = []

    try:
        loader = MigrationExecutor(connection).loader
    except DatabaseError as exc:
        raise OpsError(f"Cannot reach the database: {exc}") from None
    unknown = sorted(
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        for name in names
        if (app, name) not in loader.graph.nodes and app in loader.migrated_apps
    )
    if unknown:
        raise OpsError(
            f"The backup was made by a newer Sokhan ({manifest.get('sokhan_version')}); this version does "
            f"not know its migrations {', '.join(unknown[:5])}. Upgrade Sokhan first."
        )
    if not force:
        in_use = _database_in_use(connection)
        if in_use:
            raise OpsError(
                f"The database already holds {in_use}; restore needs an empty database. "
                "Use --force to replace everything in it with the backup."
            )
        media = Path(settings.MEDIA_ROOT)
        if media.is_dir() and any(media.iterdir()):
            raise OpsError(
                f"The media directory {media} is not empty; restore needs an empty data directory. "
                "Use --force to replace it (the old one is kept beside it)."
            )
    if manifest.get("sokhan_version") != sokhan_version():
        warnings.append(f"Backup made by Sokhan {manifest.get('sokhan_version')}, restoring into {sokhan_version()}.")

    data_dir = Path(settings.DATA_DIR)
    work = Path(tempfile.mkdtemp(dir=data_dir, prefix=".restore-"))
    try:
        _extract(path, manifest, work)
        _restore_keys(work, warnings)
        call_command("migrate", interactive=False, verbosity=0)
        counts = _load(work, manifest, connection)
        media_files = _restore_media(work, force, warnings)
        secret = work / DJANGO_SECRET
        if secret.is_file():
            if os.environ.get("SOKHAN_SECRET_KEY"):
                warnings.append("SOKHAN_SECRET_KEY is set, so the backup's Django secret key file was not used.")
            else:
                write_atomic(data_dir / DJANGO_SECRET_FILE, secret.read_bytes())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return RestoreResult(counts=counts, media_files=media_files, warnings=warnings)
