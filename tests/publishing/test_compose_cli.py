"""``sokhan compose validate`` as a real process: Persian text on stdin, JSON out, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SOKHAN = Path(sys.executable).parent / "sokhan"


def run(tmp_path: Path, stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOKHAN_", "DATABASE_URL", "REDIS_URL"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["SOKHAN_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [str(SOKHAN), "compose", "validate", *args], input=stdin, env=env, capture_output=True, timeout=120
    )


def test_valid_persian_post_for_x(tmp_path: Path) -> None:
    text = "می\u200cخواهم این را ببینید: https://sokhan.ir 🌷\n"
    result = run(tmp_path, text.encode("utf-8"), "--network", "x", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"network": "x", "length": 50, "max": 280, "valid": True, "errors": []}
    assert list(json.loads(result.stdout)) == ["network", "length", "max", "valid", "errors"]


def test_too_long_persian_post_exits_1(tmp_path: Path) -> None:
    result = run(tmp_path, ("سلام " * 60).encode("utf-8"), "--network", "x", "--json")
    assert result.returncode == 1
    output = json.loads(result.stdout)
    assert (output["length"], output["max"], output["valid"]) == (300, 280, False)
    assert output["errors"] == [
        "Text is 300 of 280 characters (weighted as X counts them: each link counts as 23, "
        "each emoji and CJK character as 2); remove 20."
    ]


def test_each_network_counts_its_own_way(tmp_path: Path) -> None:
    text = "👨‍👩‍👧‍👦 سلام".encode()
    lengths = {}
    for key in ("bluesky", "telegram", "matrix", "pinterest", "x"):
        result = run(tmp_path, text, "--network", key, "--json")
        assert result.returncode == 0, result.stderr
        lengths[key] = json.loads(result.stdout)["length"]
    assert lengths == {"bluesky": 6, "telegram": 16, "matrix": 34, "pinterest": 12, "x": 7}


def test_human_output(tmp_path: Path) -> None:
    result = run(tmp_path, "ب".encode() * 501, "--network", "mastodon")
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "Mastodon: 501 of 500 characters, invalid"
    assert lines[1].startswith("- Text is 501 of 500 characters")


def test_unknown_network_exits_2_listing_known_keys(tmp_path: Path) -> None:
    result = run(tmp_path, b"hi", "--network", "myspace", "--json")
    assert result.returncode == 2
    assert result.stdout == b""
    message = result.stderr.decode()
    assert "Unknown network 'myspace'" in message
    assert "x" in message and "mastodon" in message and "telegram" in message


def test_invalid_utf8_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path, b"\xff\xfe", "--network", "x", "--json")
    assert result.returncode == 2
    assert "not valid UTF-8" in result.stderr.decode()
