"""``sokhan check``: is this install ready to run? One result line per check, problems first-class."""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks as django_checks
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from sokhan.core import crypto
from sokhan.ops.ciphertext import all_encrypted_fields, field_label, raw_values


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Result:
    name: str
    status: Status
    message: str

    def line(self) -> str:
        return f"{self.status.value:<4} {self.name}: {self.message}"


def _ok(name: str, message: str) -> Result:
    return Result(name, Status.OK, message)


def _warn(name: str, message: str) -> Result:
    return Result(name, Status.WARN, message)


def _fail(name: str, message: str) -> Result:
    return Result(name, Status.FAIL, message)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# ---------------------------------------------------------------- individual checks


def check_django(*, deploy: bool, tags: list[str] | None = None, fail_level: int = django_checks.ERROR) -> list[Result]:
    try:
        messages = django_checks.run_checks(tags=tags, include_deployment_checks=deploy, databases=[DEFAULT_DB_ALIAS])
    except Exception as exc:  # a check that crashes is itself the problem to report
        return [_fail("django", f"system checks crashed: {type(exc).__name__}: {_one_line(str(exc))}")]
    results = []
    for msg in messages:
        if msg.is_silenced():
            continue
        text = _one_line(str(msg))
        results.append(_fail("django", text) if msg.level >= fail_level else _warn("django", text))
    if not any(r.status is Status.FAIL for r in results):
        results.insert(0, _ok("django", "system checks passed"))
    return results


def check_settings() -> list[Result]:
    results = []
    if settings.PRODUCTION:
        if settings.DEBUG:
            results.append(_fail("settings", "SOKHAN_DEBUG is on in production mode; turn it off."))
        else:
            results.append(_ok("settings", "production mode (SOKHAN_ENV=production), debug off"))
    else:
        results.append(
            _ok(
                "settings",
                f"local mode (SOKHAN_ENV={settings.ENVIRONMENT}), debug {'on' if settings.DEBUG else 'off'}",
            )
        )
    hosts: list[str] = list(settings.ALLOWED_HOSTS)
    base_host = urlsplit(settings.BASE_URL).hostname or ""
    if not hosts:
        results.append(_fail("allowed hosts", "SOKHAN_ALLOWED_HOSTS is empty; no request would be served."))
    elif "*" in hosts and settings.PRODUCTION:
        results.append(
            _fail("allowed hosts", "SOKHAN_ALLOWED_HOSTS holds '*' in production; list the real host names.")
        )
    elif base_host and not _host_allowed(base_host, hosts):
        results.append(
            _fail(
                "allowed hosts",
                f"SOKHAN_BASE_URL host {base_host!r} is not in SOKHAN_ALLOWED_HOSTS ({', '.join(hosts)}); "
                "links Sokhan sends would be refused.",
            )
        )
    else:
        results.append(_ok("allowed hosts", ", ".join(hosts)))
    return results


def _host_allowed(host: str, allowed: list[str]) -> bool:
    for pattern in allowed:
        if pattern == "*" or pattern == host:
            return True
        if pattern.startswith(".") and (host == pattern[1:] or host.endswith(pattern)):
            return True
    return False


def check_database() -> list[Result]:
    connection = connections[DEFAULT_DB_ALIAS]
    where = connection.settings_dict.get("HOST") or connection.settings_dict.get("NAME")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return [_fail("database", f"cannot connect to {connection.vendor} at {where}: {_one_line(str(exc))}")]
    return [_ok("database", f"{connection.vendor} at {where}")]


def check_migrations() -> list[Result]:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return [_fail("migrations", f"cannot read the migration state: {_one_line(str(exc))}")]
    results = []
    pending = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
    if pending:
        shown = ", ".join(pending[:5]) + (" ..." if len(pending) > 5 else "")
        results.append(_fail("migrations", f"{len(pending)} unapplied ({shown}); run `sokhan migrate`."))
    unknown = sorted(
        f"{app}.{name}"
        for app, name in executor.loader.applied_migrations
        if (app, name) not in executor.loader.graph.nodes and app in executor.loader.migrated_apps
    )
    if unknown:
        results.append(
            _fail(
                "migrations",
                f"the database has migrations this version of Sokhan does not know "
                f"({', '.join(unknown[:5])}); "
                "was it upgraded by a newer release?",
            )
        )
    if not results:
        results.append(_ok("migrations", "all applied"))
    return results


def check_redis() -> list[Result]:
    url: str = settings.REDIS_URL
    if not url:
        return [_ok("redis", "not configured (REDIS_URL unset); using the in-process cache")]
    import redis

    shown = _redact(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return [_fail("redis", f"cannot reach {shown}: {_one_line(str(exc))}")]
    return [_ok("redis", f"{shown} answers PING")]


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def check_encryption(*, sample: bool = True) -> list[Result]:
    from_env = bool(os.environ.get("SOKHAN_ENCRYPTION_KEY", "").strip())
    path = crypto.key_file()
    where = "SOKHAN_ENCRYPTION_KEY" if from_env else str(path)
    results = []
    if from_env:
        keys = crypto.read_keys()
    elif not path.exists():
        stored = _count_stored_secrets() if sample else 0
        if stored:
            return [
                _fail(
                    "encryption key",
                    f"no key file at {path} but the database holds {stored} encrypted value(s); restore the "
                    "key file from your backup (or set SOKHAN_ENCRYPTION_KEY).",
                )
            ]
        return [_ok("encryption key", f"no key file yet at {path}; one is created on first use")]
    else:
        keys = [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            results.append(_warn("encryption key", f"{path} is readable by others (mode {mode:o}); chmod 600 it."))
    if not keys:
        return [_fail("encryption key", f"{where} holds no key.")]
    fernets = []
    for n, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            results.append(
                _fail("encryption key", f"key #{n} in {where} is malformed (expected 32 url-safe base64 bytes).")
            )
    if len(fernets) != len(keys):
        return results
    extra = f" ({len(keys) - 1} older key(s) kept for decryption; finish with `sokhan rotate-key`)"
    results.insert(0, _ok("encryption key", f"{len(keys)} key(s) from {where}" + (extra if len(keys) > 1 else "")))
    if sample:
        results.extend(_check_samples(MultiFernet(fernets), where))
    return results


def _count_stored_secrets() -> int:
    try:
        return sum(1 for model, name in all_encrypted_fields() for _ in raw_values(model, name))
    except Exception:
        return 0


def _check_samples(keys: MultiFernet, where: str) -> list[Result]:
    results = []
    sampled = 0
    for model, name in all_encrypted_fields():
        label = field_label(model, name)
        try:
            sample = next(iter(raw_values(model, name)), None)
        except Exception as exc:
            results.append(_fail("stored secrets", f"cannot read {label}: {_one_line(str(exc))}"))
            continue
        if sample is None:
            continue
        pk, stored = sample
        sampled += 1
        if not stored.startswith(crypto.PREFIX):
            results.append(_fail("stored secrets", f"{label} pk={pk} is not Sokhan ciphertext (plaintext stored?)."))
            continue
        try:
            keys.decrypt(stored.removeprefix(crypto.PREFIX).encode())
        except InvalidToken:
            results.append(
                _fail(
                    "stored secrets",
                    f"{label} pk={pk} cannot be decrypted with the key(s) in {where}; is this the key this "
                    "database was encrypted with?",
                )
            )
    if not results:
        message = f"a sample from each of {sampled} encrypted column(s) decrypts" if sampled else "none stored yet"
        results.append(_ok("stored secrets", message))
    return results


def check_data_dir() -> list[Result]:
    results = []
    for label, raw in (("data dir", settings.DATA_DIR), ("media dir", settings.MEDIA_ROOT)):
        path = Path(raw)
        if label == "media dir" and not path.exists():
            results.append(_ok(label, f"{path} (created on first upload)"))
            continue
        if not path.is_dir():
            results.append(_fail(label, f"{path} is not a directory."))
            continue
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".sokhan-check-"):
                pass
        except OSError as exc:
            results.append(_fail(label, f"{path} is not writable: {exc.strerror or exc}"))
            continue
        results.append(_ok(label, f"{path} is writable"))
    return results


# ---------------------------------------------------------------- all of them


def run_all(*, deploy: bool = False, fail_level: int = django_checks.ERROR) -> list[Result]:
    results = check_django(deploy=deploy or settings.PRODUCTION, fail_level=fail_level)
    results += check_settings()
    database = check_database()
    results += database
    schema_ok = False
    if database[0].status is Status.OK:
        migrations = check_migrations()
        results += migrations
        schema_ok = all(r.status is Status.OK for r in migrations)
    results += check_redis()
    # Stored secrets can only be sampled once the tables exist.
    results += check_encryption(sample=schema_ok)
    results += check_data_dir()
    return results


def problems(results: list[Result]) -> list[Result]:
    return [r for r in results if r.status is Status.FAIL]
