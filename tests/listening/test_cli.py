"""``sokhan listening match``: the query tester on the command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

SOKHAN = Path(sys.executable).with_name("sokhan")


def jsonl(*items: object) -> bytes:
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items).encode("utf-8")


def run(monkeypatch: pytest.MonkeyPatch, stdin: bytes, *args: str) -> list[str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    out = io.StringIO()
    call_command("listening", "match", *args, stdout=out)
    return out.getvalue().splitlines()


def test_json_items_that_match_print_their_id(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = jsonl(
        {"id": 1, "text": "کتاب‌خانه‌های شهر"},
        {"id": "b", "text": "pineapple libraries"},
        {"id": None, "text": "LIBRARY hours"},
        {"id": [3], "text": "كتابخانه ۱۴۰۴", "lang": "fa"},
        {"text": "no id, library"},
        {"id": 5, "text": "library jobs"},
    )
    lines = run(monkeypatch, stdin, "--json", "--query", "(کتابخانه OR library) -jobs")
    assert [json.loads(line) for line in lines] == [{"id": 1}, {"id": None}, {"id": [3]}, {"id": None}]
    assert lines[0] == '{"id": 1}'


def test_lang_and_channel_from_items_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = jsonl(
        {"id": 1, "text": "apple", "lang": "fa-IR", "channel": "telegram"},
        {"id": 2, "text": "apple", "lang": "en", "channel": "telegram"},
        {"id": 3, "text": "apple", "channel": "x"},
        {"id": 4, "text": "apple"},
    )
    query = "apple lang:fa channel:telegram"
    assert run(monkeypatch, stdin, "--json", "--query", query) == ['{"id": 1}']
    assert run(monkeypatch, stdin, "--json", "--query", query, "--lang", "fa", "--channel", "telegram") == [
        '{"id": 1}',
        '{"id": 4}',
    ]


def test_plain_lines_print_the_matching_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = "\ufeff#Apple news\r\n\n  \napplepie\nsee @apple.\n".encode()
    assert run(monkeypatch, stdin, "--query", "#apple OR @apple") == ["#Apple news", "see @apple."]


def test_blank_lines_are_skipped_and_crlf_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = b"\n" + jsonl({"id": 7, "text": "apple"}).replace(b"\n", b"\r\n") + b"   \n"
    assert run(monkeypatch, stdin, "--json", "--query", "apple") == ['{"id": 7}']


def test_a_syntax_error_names_the_column(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CommandError) as caught:
        run(monkeypatch, b"", "--json", "--query", "apple AND")
    assert str(caught.value) == '--query: Column 10: expected a term or "(" after AND, found end of query'
    assert caught.value.returncode == 2


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (b"{not json", "Line 3: not valid JSON (Expecting property name enclosed in double quotes, column 2)."),
        (b"[1, 2]", 'Line 3: expected a JSON object like {"id": 1, "text": "..."}.'),
        (b'{"id": 1}', 'Line 3: the object has no "text".'),
        (b'{"id": 1, "text": 5}', 'Line 3: the object has a non-string "text".'),
        (b'{"id": 1, "text": "a", "lang": 5}', 'Line 3: "lang" must be a string such as "fa".'),
        (b'{"id": 1, "text": "a", "channel": ["x"]}', 'Line 3: "channel" must be a string such as "telegram".'),
        (b'{"id": 1, "text": "\xff"}', "Line 3: not valid UTF-8 (byte 19)."),
    ],
)
def test_a_bad_line_stops_with_its_number(monkeypatch: pytest.MonkeyPatch, bad_line: bytes, message: str) -> None:
    stdin = jsonl({"id": 1, "text": "apple"}) + b"\n" + bad_line + b"\n" + jsonl({"id": 4, "text": "apple"})
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("listening", "match", "--json", "--query", "apple", stdout=out)
    assert str(caught.value) == message
    assert caught.value.returncode == 2
    assert out.getvalue().splitlines() == ['{"id": 1}']  # the lines before it were answered


@pytest.mark.slow
def test_as_a_real_process(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOKHAN_", "DATABASE_URL", "REDIS_URL"))}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["SOKHAN_DATA_DIR"] = str(tmp_path)
    command = [str(SOKHAN), "listening", "match", "--json", "--query"]
    stdin = jsonl({"id": "a", "text": "قیمت ١٤٠٤ كتابخانه"}, {"id": "b", "text": "کتاب"})
    ok = subprocess.run([*command, "«کتاب‌خانه» ۱۴۰۴"], input=stdin, env=env, capture_output=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.decode("utf-8").splitlines() == ['{"id": "a"}']
    bad = subprocess.run([*command, "(کتاب"], input=stdin, env=env, capture_output=True, timeout=120)
    assert bad.returncode == 2
    assert 'Column 6: expected ")" to close the "(" at column 1, found end of query' in bad.stderr.decode("utf-8")
    assert bad.stdout == b""
