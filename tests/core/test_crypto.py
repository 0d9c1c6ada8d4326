"""Secrets at rest: ciphertext in the database, readable only with the key outside it."""

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.db import connection

from sokhan.core import crypto
from sokhan.core.models import User


def test_round_trip_and_prefix() -> None:
    stored = crypto.encrypt("JBSWY3DPEHPK3PXP")
    assert stored.startswith(crypto.PREFIX)
    assert "JBSWY3DPEHPK3PXP" not in stored
    assert crypto.decrypt(stored) == "JBSWY3DPEHPK3PXP"


def test_field_stores_ciphertext_and_serialises_ciphertext(owner: User) -> None:
    owner.totp_secret = "JBSWY3DPEHPK3PXP"
    owner.save()
    with connection.cursor() as cur:
        cur.execute("SELECT totp_secret FROM core_user WHERE id = %s", [owner.id])
        raw = cur.fetchone()[0]
    assert raw.startswith(crypto.PREFIX) and "JBSWY3DPEHPK3PXP" not in raw
    assert User.objects.get(pk=owner.pk).totp_secret == "JBSWY3DPEHPK3PXP"
    dumped = serializers.serialize("json", User.objects.filter(pk=owner.pk))
    assert "JBSWY3DPEHPK3PXP" not in dumped
    loaded = next(serializers.deserialize("json", dumped)).object
    assert loaded.totp_secret == "JBSWY3DPEHPK3PXP"


def test_wrong_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = crypto.encrypt("secret")
    monkeypatch.setenv("SOKHAN_ENCRYPTION_KEY", Fernet.generate_key().decode())
    crypto.fernet.cache_clear()
    try:
        with pytest.raises(crypto.SecretDecryptError, match="no configured key"):
            crypto.decrypt(stored)
    finally:
        monkeypatch.delenv("SOKHAN_ENCRYPTION_KEY")
        crypto.fernet.cache_clear()


def test_rotation_keeps_old_ciphertext_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    old = crypto.read_keys()
    stored = crypto.encrypt("token-123")
    new = Fernet.generate_key()
    monkeypatch.setenv("SOKHAN_ENCRYPTION_KEY", ",".join(k.decode() for k in [new, *old]))
    crypto.fernet.cache_clear()
    try:
        rotated = crypto.rotate(stored)
        monkeypatch.setenv("SOKHAN_ENCRYPTION_KEY", new.decode())
        crypto.fernet.cache_clear()
        assert crypto.decrypt(rotated) == "token-123"
        with pytest.raises(crypto.SecretDecryptError):
            crypto.decrypt(stored)
    finally:
        monkeypatch.delenv("SOKHAN_ENCRYPTION_KEY")
        crypto.fernet.cache_clear()


def test_encrypted_fields_are_discoverable() -> None:
    assert (User, "totp_secret") in crypto.encrypted_fields()
