"""Secrets at rest: an encrypted model field and the key that lives outside the database.

The key comes from ``SOKHAN_ENCRYPTION_KEY`` (comma-separated Fernet keys, newest first) or from
the key file in the data directory (one key per line, newest first). Extra keys only decrypt, which
is what lets ``sokhan rotate-key`` re-encrypt rows while old ciphertext is still readable.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc:v1:"


class SecretDecryptError(Exception):
    """Stored ciphertext cannot be opened with any configured key."""


def key_file() -> Path:
    return Path(settings.ENCRYPTION_KEY_FILE)


def read_keys() -> list[bytes]:
    env = os.environ.get("SOKHAN_ENCRYPTION_KEY", "").strip()
    if env:
        return [k.strip().encode() for k in env.split(",") if k.strip()]
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_keys([Fernet.generate_key()])
    return [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]


def write_keys(keys: list[bytes]) -> None:
    path = key_file()
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(k.decode() + "\n" for k in keys))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    fernet.cache_clear()


@cache
def fernet() -> MultiFernet:
    keys = read_keys()
    if not keys:
        raise ImproperlyConfigured("No encryption key configured (SOKHAN_ENCRYPTION_KEY or key file).")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"Encryption key is malformed: {exc}") from exc


def encrypt(plaintext: str) -> str:
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise SecretDecryptError("value is not Sokhan ciphertext")
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptError("no configured key opens this value; is the right key file in place?") from exc


def rotate(stored: str) -> str:
    """Re-encrypt ``stored`` under the newest key."""
    if not stored.startswith(PREFIX):
        raise SecretDecryptError("value is not Sokhan ciphertext")
    try:
        return PREFIX + fernet().rotate(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretDecryptError("no configured key opens this value; is the right key file in place?") from exc


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text field whose database value is always ciphertext.

    Serialisation (``dumpdata``, backups) keeps the ciphertext, so a dump holds no plaintext either.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value  # type: ignore[no-any-return]
        return decrypt(value)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        if value is None or value == "":
            return value  # type: ignore[no-any-return]
        return encrypt(str(value))


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) that stores ciphertext, for rotation and audits."""
    from django.apps import apps

    found: list[tuple[type[models.Model], str]] = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, EncryptedTextField):
                found.append((model, field.name))
    return found
