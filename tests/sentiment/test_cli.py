"""``sokhan sentiment`` as a real process: JSON lines in, JSON lines out, exit status 2 on a bad line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SOKHAN = Path(sys.executable).with_name("sokhan")


def run(tmp_path: Path, stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOKHAN_", "DATABASE_URL", "REDIS_URL"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["SOKHAN_DATA_DIR"] = str(tmp_path)
    return subprocess.run([str(SOKHAN), "sentiment", *args], input=stdin, env=env, capture_output=True, timeout=120)


def jsonl(*items: object) -> bytes:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode("utf-8")


def test_json_round_trip_persian_and_english(tmp_path: Path) -> None:
    stdin = jsonl(
        {"id": "a1", "text": "خیلی بد بود، دیگه سفارش نمیدم"},
        {"id": 2, "text": "عالی بود ممنون", "lang": "fa"},
        {"id": "c3", "text": "I love this, thank you!", "lang": "en"},
        {"id": None, "text": "worst service ever"},
    )
    result = run(tmp_path, stdin, "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [(line["id"], line["label"]) for line in lines] == [
        ("a1", "negative"),
        (2, "positive"),
        ("c3", "positive"),
        (None, "negative"),
    ]
    for line in lines:
        assert list(line) == ["id", "label", "score"]
        assert -1 <= line["score"] <= 1
        assert line["score"] == round(line["score"], 4)


def test_json_blank_lines_and_crlf(tmp_path: Path) -> None:
    stdin = b"\n" + jsonl({"id": 1, "text": "worst service ever"}).replace(b"\n", b"\r\n") + b"\n  \n"
    result = run(tmp_path, stdin, "--json")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (b"{not json", "Line 3: not valid JSON"),
        (b'{"id": 3}', 'Line 3: the object has no "text"'),
        (b'{"id": 3, "text": 5}', 'Line 3: the object has a non-string "text"'),
        (b'["text"]', "Line 3: expected a JSON object"),
        (b'{"id": 3, "text": "hi", "lang": 7}', 'Line 3: "lang" must be a language code'),
        (b'{"id": 3, "text": "\xff"}', "Line 3: not valid UTF-8"),
    ],
)
def test_bad_line_exits_2_naming_it(tmp_path: Path, bad_line: bytes, message: str) -> None:
    stdin = jsonl({"id": 1, "text": "عالی بود ممنون"}, {"id": 2, "text": "worst service ever"})
    stdin += bad_line + b"\n" + jsonl({"id": 4, "text": "I love this, thank you!"})
    result = run(tmp_path, stdin, "--json")
    assert result.returncode == 2
    assert message in result.stderr.decode("utf-8")
    # The lines before the bad one were answered in full; nothing of it or after it was printed.
    assert result.stdout.endswith(b"\n")
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1, 2]


def test_plain_text_mode(tmp_path: Path) -> None:
    result = run(tmp_path, "عالی بود ممنون\nworst service ever\n".encode(), "--lang", "")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.decode("utf-8").splitlines()]
    assert [(row[0], row[2]) for row in rows] == [("positive", "عالی بود ممنون"), ("negative", "worst service ever")]
    assert all(-1 <= float(row[1]) <= 1 for row in rows)
