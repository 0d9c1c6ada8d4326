"""Fixtures for the operational commands: a private key file, data directory and media root per test."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sokhan.core import crypto


@pytest.fixture
def keyfile(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Keys live in a file of this test's own; the env variable is unset."""
    monkeypatch.delenv("SOKHAN_ENCRYPTION_KEY", raising=False)
    path = tmp_path / "keys" / "encryption.key"
    path.parent.mkdir()
    settings.ENCRYPTION_KEY_FILE = path
    crypto.fernet.cache_clear()
    yield path
    crypto.fernet.cache_clear()


@pytest.fixture
def datadir(tmp_path: Path, settings: Any, keyfile: Path) -> Path:
    """A private data directory (media, Django secret key file) next to the private key file."""
    data = tmp_path / "data"
    data.mkdir()
    settings.DATA_DIR = data
    settings.MEDIA_ROOT = data / "media"
    return data


Runner = Callable[..., tuple[str, str]]


@pytest.fixture
def cmd() -> Runner:
    """call_command, returning (stdout, stderr)."""

    def run(*args: str, **options: Any) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        call_command(*args, stdout=out, stderr=err, **options)
        return out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def check_problems(cmd: Runner) -> Callable[[], list[str]]:
    """Run ``check`` expecting failure; return its FAIL lines."""

    def run() -> list[str]:
        out, err = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError, match=r"^\d+ problem\(s\) found\.$"):
            call_command("check", stdout=out, stderr=err)
        assert not [line for line in out.getvalue().splitlines() if line.startswith("FAIL")]
        return [line for line in err.getvalue().splitlines() if line.startswith("FAIL")]

    return run
