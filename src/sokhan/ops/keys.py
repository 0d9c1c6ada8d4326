"""Encryption key rotation.

Order, chosen so a crash at any point leaves every value readable:

1. write the key file as ``[new, *old]`` (atomic rename): new writes use the new key, old keys
   still decrypt;
2. in one database transaction, re-encrypt every stored value under the new key (raw ciphertext
   in, raw ciphertext out; nothing is ever decrypted into a model instance);
3. check that every value opens with the new key alone, and only then write the file as ``[new]``.

A crash before 3 leaves both keys in the file; running ``sokhan rotate-key`` again finishes the job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from sokhan.core import crypto
from sokhan.ops.ciphertext import all_encrypted_fields, field_label, raw_update, raw_values
from sokhan.ops.errors import OpsError

ENV_VAR = "SOKHAN_ENCRYPTION_KEY"


@dataclass
class RotationReport:
    source: str  # "file" or "env"
    reencrypted: dict[str, int] = field(default_factory=dict)
    dropped_keys: int = 0
    new_key: str = ""  # only set when the operator has to put it somewhere (env mode)
    instructions: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.reencrypted.values())


def keys_from_env() -> bool:
    return bool(os.environ.get(ENV_VAR, "").strip())


def validated_keys() -> list[bytes]:
    """The configured keys, newest first; each must be a well-formed Fernet key."""
    keys = crypto.read_keys()
    if not keys:
        raise OpsError(f"No encryption key configured: set {ENV_VAR} or create {crypto.key_file()}.")
    where = ENV_VAR if keys_from_env() else str(crypto.key_file())
    for n, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise OpsError(
                f"Encryption key #{n} in {where} is malformed (expected 32 url-safe base64 bytes)."
            ) from None
    return keys


def reencrypt_all() -> dict[str, int]:
    """Re-encrypt every stored secret under the newest configured key, in one transaction."""
    counts: dict[str, int] = {}
    try:
        crypto.fernet()
    except ImproperlyConfigured as exc:
        raise OpsError(str(exc)) from None
    with transaction.atomic():
        for model, name in all_encrypted_fields():
            label = field_label(model, name)
            counts[label] = 0
            for pk, stored in raw_values(model, name):
                try:
                    rotated = crypto.rotate(stored)
                except (crypto.SecretDecryptError, InvalidToken) as exc:
                    reason = str(exc) or "no configured key opens it"
                    raise OpsError(
                        f"{label} of row pk={pk} cannot be re-encrypted: {reason}. Nothing was changed in "
                        "the database; put the key that encrypted it back into the key list and run again."
                    ) from None
                raw_update(model, name, pk, rotated)
                counts[label] += 1
    return counts


def values_not_under(key: bytes) -> list[str]:
    """Stored values that ``key`` alone cannot open, as ``label pk=…`` strings."""
    only = Fernet(key)
    stragglers: list[str] = []
    for model, name in all_encrypted_fields():
        for pk, stored in raw_values(model, name):
            try:
                only.decrypt(stored.removeprefix(crypto.PREFIX).encode())
            except InvalidToken:
                stragglers.append(f"{field_label(model, name)} pk={pk}")
    return stragglers


def rotate_key() -> RotationReport:
    if keys_from_env():
        return _rotate_env()
    old = validated_keys()
    new = Fernet.generate_key()
    crypto.write_keys([new, *old])  # step 1: the new key is first, the old ones still decrypt
    report = RotationReport(source="file")
    report.reencrypted = reencrypt_all()  # step 2: one transaction
    stragglers = values_not_under(new)  # step 3: drop old keys only when nothing needs them
    if stragglers:
        raise OpsError(
            f"{len(stragglers)} value(s) are still not under the new key (first: {stragglers[0]}); a running "
            "Sokhan process probably wrote them with the old key. The old keys stay in the key file, so "
            "everything still decrypts. Stop every `sokhan serve`/`sokhan worker` and run rotate-key again."
        )
    crypto.write_keys([new])
    report.dropped_keys = len(old)
    return report


def _rotate_env() -> RotationReport:
    keys = validated_keys()
    report = RotationReport(source="env")
    if len(keys) == 1:
        new = Fernet.generate_key().decode()
        report.new_key = new
        report.instructions = [
            f"The key comes from the {ENV_VAR} environment variable, so this command cannot store a new "
            "key for you and changed nothing.",
            f"1. Set {ENV_VAR}={new},{keys[0].decode()}  (new key first, the old one still decrypts)",
            "   and restart every Sokhan process with it.",
            "2. Run `sokhan rotate-key` again: it re-encrypts every stored secret under the new key.",
            f"3. Set {ENV_VAR}={new}  and restart again.",
        ]
        return report
    report.reencrypted = reencrypt_all()
    stragglers = values_not_under(keys[0])
    if stragglers:
        raise OpsError(
            f"{len(stragglers)} value(s) are still not under the first key (first: {stragglers[0]}); keep "
            f"all keys in {ENV_VAR}, make sure every process uses the new list, and run rotate-key again."
        )
    report.new_key = keys[0].decode()
    report.instructions = [
        f"Every stored secret is now encrypted with the first key in {ENV_VAR}.",
        f"Set {ENV_VAR}={report.new_key}  (drop the old keys) and restart every Sokhan process.",
    ]
    return report
