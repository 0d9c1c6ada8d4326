"""``sokhan bench sentiment``: its texts, its inputs, and one small real run through the command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sokhan.ops.bench_publish import BenchError
from sokhan.ops.bench_sentiment import Options, corpus, made_up_texts, read_texts
from sokhan.sentiment.features import detect_language


def test_made_up_texts_are_half_persian_and_repeatable() -> None:
    texts = made_up_texts(200, seed=3)
    assert texts == made_up_texts(200, seed=3) and texts != made_up_texts(200, seed=4)
    assert sum(detect_language(text) == "fa" for text in texts) == 100
    assert len(set(texts)) > 150


def test_read_texts_from_tsv_and_jsonl(tmp_path: Path) -> None:
    tsv = tmp_path / "a.tsv"
    tsv.write_text("text\tlabel\nعالی بود\tpositive\nbad\tnegative\n", encoding="utf-8")
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text('{"id": 1, "text": "hello"}\n\n{"id": 2}\n[1]\n', encoding="utf-8")
    assert read_texts(tsv) == ["عالی بود", "bad"]
    assert read_texts(jsonl) == ["hello"]
    assert corpus(Options(texts=5, inputs=(tsv, jsonl))) == corpus(Options(texts=5, inputs=(tsv, jsonl)))
    assert sorted(set(corpus(Options(texts=6, inputs=(tsv, jsonl))))) == sorted(["عالی بود", "bad", "hello"])
    headless = tmp_path / "c.tsv"
    headless.write_text("just a line\n", encoding="utf-8")
    with pytest.raises(BenchError, match="'text' column"):
        read_texts(headless)
    with pytest.raises(BenchError, match="missing"):
        read_texts(tmp_path / "missing.tsv")


@pytest.mark.slow
def test_command_runs_one_small_round() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("bench", "sentiment", "--texts", "60", "--processes", "1", "--rounds", "1", stdout=out, stderr=err)
    [line] = out.getvalue().splitlines()
    result = json.loads(line)
    assert result["processes"] == 1 and result["texts"] == 60 and result["rounds"] == 1
    assert sum(result["labels"].values()) == 60 and result["backend"] == "BuiltinBackend"
    assert result["texts_per_s"] > 0 and result["cpu_ms_per_text"] > 0


def test_command_rejects_bad_numbers() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("bench", "sentiment", "--texts", "0", "--processes", "1", "--rounds", "1")
