"""sokhan rotate-key: new key first, every secret re-encrypted in one transaction, old keys dropped."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management.base import CommandError
from django.db.models import ExpressionWrapper, F, TextField, Value

from sokhan.cli import command_argv
from sokhan.core import crypto
from sokhan.core.models import User

Runner = Callable[..., tuple[str, str]]
pytestmark = pytest.mark.django_db
SECRET = "JBSWY3DPEHPK3PXP"


def raw_secret(user: User) -> str:
    value: str = (
        User.objects.filter(pk=user.pk)
        .annotate(raw=ExpressionWrapper(F("totp_secret"), output_field=TextField()))
        .values_list("raw", flat=True)
        .get()
    )
    return value


def make_user(email: str, secret: str = SECRET) -> User:
    user = User.objects.create_user(email, "quiet lantern orchard 42")
    user.totp_secret = secret
    user.save()
    return user


def file_keys(path: Path) -> list[bytes]:
    return [line.encode() for line in path.read_text().split()]


def test_rotation_reencrypts_everything_and_drops_the_old_key(keyfile: Path, cmd: Runner) -> None:
    users = [make_user(f"u{n}@example.com", f"{SECRET}{n}") for n in range(3)]
    blank = User.objects.create_user("blank@example.com", "quiet lantern orchard 42")
    [old] = file_keys(keyfile)
    before = {u.pk: raw_secret(u) for u in users}

    out, _ = cmd("rotate_key")

    assert "re-encrypted 3 value(s) in core.User.totp_secret" in out
    [new] = file_keys(keyfile)
    assert new != old
    for n, user in enumerate(users):
        raw = raw_secret(user)
        assert raw != before[user.pk] and raw.startswith(crypto.PREFIX)
        token = raw.removeprefix(crypto.PREFIX).encode()
        assert Fernet(new).decrypt(token).decode() == f"{SECRET}{n}"
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(token)
        assert User.objects.get(pk=user.pk).totp_secret == f"{SECRET}{n}"
    assert raw_secret(blank) == ""  # empty stays empty, not encrypted emptiness


def test_rotation_that_dies_midway_leaves_everything_readable(keyfile: Path, cmd: Runner) -> None:
    good = make_user("good@example.com")
    good_raw = raw_secret(good)
    [old] = file_keys(keyfile)
    # A row encrypted with a key nobody has any more: rotation reaches it after re-encrypting `good`.
    stray = User.objects.create_user("stray@example.com", "quiet lantern orchard 42")
    foreign = crypto.PREFIX + Fernet(Fernet.generate_key()).encrypt(b"lost").decode()
    User.objects.filter(pk=stray.pk).update(totp_secret=Value(foreign, output_field=TextField()))

    with pytest.raises(CommandError, match=rf"core.User.totp_secret of row pk={stray.pk} cannot be re-encrypted"):
        cmd("rotate_key")

    keys = file_keys(keyfile)
    assert len(keys) == 2 and keys[1] == old  # the new key first, the old one kept
    assert raw_secret(good) == good_raw  # the transaction rolled back
    assert User.objects.get(pk=good.pk).totp_secret == SECRET  # still decrypts with the file as it is


def test_second_run_after_a_crash_finishes(keyfile: Path, cmd: Runner) -> None:
    user = make_user("a@example.com")
    [old] = file_keys(keyfile)
    half = Fernet.generate_key()
    crypto.write_keys([half, old])  # as left by a crash after step 1
    cmd("rotate_key")
    [final] = file_keys(keyfile)
    assert final not in (old, half)
    assert User.objects.get(pk=user.pk).totp_secret == SECRET


def test_env_key_single_prints_instructions_and_changes_nothing(
    keyfile: Path, monkeypatch: pytest.MonkeyPatch, cmd: Runner
) -> None:
    env_key = Fernet.generate_key().decode()
    monkeypatch.setenv("SOKHAN_ENCRYPTION_KEY", env_key)
    crypto.fernet.cache_clear()
    user = make_user("env@example.com")
    raw = raw_secret(user)
    out, _ = cmd("rotate_key")
    assert "cannot store a new key" in out
    [line] = [x for x in out.splitlines() if x.startswith("1. Set SOKHAN_ENCRYPTION_KEY=")]
    new_key = line.split("=", 1)[1].split()[0].split(",")[0]
    Fernet(new_key.encode())  # a well-formed key the operator can use
    assert line.split("=", 1)[1].split()[0] == f"{new_key},{env_key}"
    assert not keyfile.exists()
    assert raw_secret(user) == raw


def test_env_keys_two_reencrypts_under_the_first(keyfile: Path, monkeypatch: pytest.MonkeyPatch, cmd: Runner) -> None:
    old = Fernet.generate_key().decode()
    monkeypatch.setenv("SOKHAN_ENCRYPTION_KEY", old)
    crypto.fernet.cache_clear()
    user = make_user("env@example.com")
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("SOKHAN_ENCRYPTION_KEY", f"{new},{old}")
    crypto.fernet.cache_clear()
    out, _ = cmd("rotate_key")
    assert f"Set SOKHAN_ENCRYPTION_KEY={new}" in out
    assert Fernet(new.encode()).decrypt(raw_secret(user).removeprefix(crypto.PREFIX).encode()) == SECRET.encode()
    assert not keyfile.exists()


def test_malformed_key_refused_before_anything_changes(keyfile: Path, cmd: Runner) -> None:
    keyfile.write_text("garbage\n")
    crypto.fernet.cache_clear()
    with pytest.raises(CommandError, match=r"key #1 in .* is malformed"):
        cmd("rotate_key")
    assert keyfile.read_text() == "garbage\n"


def test_hyphenated_command_names_map_to_modules() -> None:
    assert command_argv(["rotate-key"]) == ["rotate_key"]
    assert command_argv(["help", "rotate-key"]) == ["help", "rotate_key"]
    assert command_argv(["check", "--fail-level", "ERROR"]) == ["check", "--fail-level", "ERROR"]
    assert command_argv(["--version"]) == ["--version"]


@pytest.mark.slow
def test_rotate_key_runs_as_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOKHAN_", "DATABASE_URL", "REDIS_URL"))}
    env["SOKHAN_DATA_DIR"] = str(tmp_path)
    sokhan = Path(sys.executable).parent / "sokhan"
    subprocess.run([sokhan, "migrate", "-v0"], env=env, check=True, timeout=120)
    first = subprocess.run([sokhan, "rotate-key"], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    key1 = (tmp_path / "encryption.key").read_text()
    subprocess.run([sokhan, "rotate-key"], env=env, check=True, capture_output=True, timeout=120)
    key2 = (tmp_path / "encryption.key").read_text()
    assert len(key1.split()) == len(key2.split()) == 1 and key1 != key2
