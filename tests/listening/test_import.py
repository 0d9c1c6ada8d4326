"""Importing mentions from JSONL and CSV: the documented columns and aliases, every bad line named
with its field and nothing stored for a bad file, deduplication against what is stored, the CLI."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from sokhan.core.models import Workspace
from sokhan.listening.imports import import_file, import_text
from sokhan.listening.ingest import IncomingItem, ingest
from sokhan.listening.models import Mention, Source, SourceKind, Topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def topics(workspace: Workspace) -> list[Topic]:
    return [
        Topic.objects.create(workspace=workspace, name="Shigi", query="shigi OR شیگی"),
        Topic.objects.create(workspace=workspace, name="Delivery", query="ارسال OR delivery"),
    ]


def jsonl(*rows: object) -> str:
    return "".join((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n" for row in rows)


def test_a_jsonl_export_is_imported_through_an_import_source(workspace: Workspace, topics: list[Topic]) -> None:
    ingest(workspace, [IncomingItem("x", "900", "shigi seen by search", datetime(2025, 1, 1, tzinfo=UTC))])
    text = jsonl(
        {
            "network": "X",
            "remote_id": "901",
            "url": "https://x.com/reza/status/901",
            "author_handle": "reza",
            "author_name": "رضا",
            "author_followers": 5400,
            "language": "fa-IR",
            "text": "ارسال شیگی دیر شد",
            "published_at": "2025-03-01T14:30:00+03:30",
        },
        {"network": "x", "id": 902, "text": "no brand", "published_at": 1740830400},
        {"network": "x", "remote_id": "900", "text": "shigi seen by search", "published_at": "2025-01-01T00:00:00Z"},
        "",
        {"text": "shigi without any id", "date": "2025-03-02 08:00:00", "followers": None},
    )
    outcome = import_text(workspace, text, "jsonl", name="x-export.jsonl")
    assert outcome.errors == [] and outcome.lines == 4
    assert (outcome.created, outcome.ingest.duplicates, outcome.ingest.unmatched) == (2, 1, 1)
    assert outcome.source is not None and outcome.source.kind == SourceKind.IMPORT
    assert outcome.source.name == "x-export.jsonl"
    reza = Mention.objects.get(workspace=workspace, remote_id="901")
    assert (reza.network, reza.language, reza.author_followers, reza.source) == ("x", "fa", 5400, outcome.source)
    assert reza.published_at == datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    assert set(reza.topics.all()) == set(topics)
    bare = Mention.objects.get(workspace=workspace, network="import")
    assert bare.dedupe_key.startswith("text:") and bare.published_at == datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
    again = import_text(workspace, text, "jsonl")
    assert (again.created, again.ingest.duplicates) == (0, 3)  # importing twice doubles nothing


def test_a_csv_with_aliases_a_bom_quotes_and_newlines(workspace: Workspace, topics: list[Topic]) -> None:
    text = (
        "\ufeffnetwork,id,link,author,followers,lang,text,date,extra column\n"
        'telegram,-100:5,https://t.me/c/5,news_fa,12000,fa,"شیگی گفت: ""ارسال رایگان""\nاز فردا",'
        "2025-03-01T10:00:00Z,ignored\n"
        "\n"
        'mastodon,111,,ali@m.example,,en,"shigi, finally",2025-03-01T11:00:00+00:00\n'
    )
    outcome = import_file(workspace, io.BytesIO(text.encode()), "csv")
    assert outcome.errors == [] and outcome.created == 2
    news = Mention.objects.get(workspace=workspace, network="telegram")
    assert news.text == 'شیگی گفت: "ارسال رایگان"\nاز فردا' and news.author_followers == 12000
    assert news.remote_id == "-100:5" and news.url == "https://t.me/c/5" and news.author_handle == "news_fa"
    assert Mention.objects.get(network="mastodon").author_followers is None
    assert outcome.source is not None and outcome.source.name.startswith("Import of ")


def test_a_bad_file_names_every_bad_line_and_field_and_stores_nothing(
    workspace: Workspace, topics: list[Topic]
) -> None:
    text = jsonl(
        {"text": "shigi fine", "published_at": "2025-03-01T10:00:00Z"},
        '{"text": "shigi", "published_at": ',
        ["not", "an", "object"],
        {"published_at": "2025-03-01T10:00:00Z"},
        {"text": "shigi", "published_at": "yesterday"},
        {"text": "shigi", "published_at": "2025-03-01T10:00:00Z", "author_followers": -3},
        {"text": "shigi", "published_at": "2025-03-01T10:00:00Z", "url": "ftp://x.example/1"},
        {"text": "shigi", "published_at": "2025-03-01T10:00:00Z", "language": "Persian!"},
        {"text": "shigi", "published_at": "2025-03-01T10:00:00Z", "network": "X Corp"},
        {"text": {"nested": 1}, "published_at": "2025-03-01T10:00:00Z"},
    )
    outcome = import_text(workspace, text, "jsonl")
    assert outcome.created == 0 and outcome.source is None
    assert [(e.line, e.field) for e in outcome.errors] == [
        (2, ""),
        (3, ""),
        (4, "text"),
        (5, "published_at"),
        (6, "author_followers"),
        (7, "url"),
        (8, "language"),
        (9, "network"),
        (10, "text"),
    ]
    assert outcome.errors[0].message.startswith("Line 2: not valid JSON")
    assert outcome.errors[3].message.startswith("Line 5, published_at: is not a date and time")
    assert not Mention.objects.exists() and not Source.objects.exists()


def test_csv_problems_name_the_line(workspace: Workspace, topics: list[Topic]) -> None:
    missing = import_text(workspace, "network,text\nx,shigi\n", "csv")
    assert [(e.line, e.field) for e in missing.errors] == [(1, "header")]
    assert "published_at" in missing.errors[0].message
    body = b"text,published_at\nshigi,2025-03-01T10:00:00Z\n" + b"\xff\xfe bad,2025\n" + b"a,b,c\n"
    broken = import_file(workspace, io.BytesIO(body), "csv")
    assert [(e.line, e.message) for e in broken.errors] == [
        (3, "Line 3: not valid UTF-8"),
        (4, "Line 4: 3 values but the header has 2 columns"),
    ]
    assert not Mention.objects.exists()


class Pipe(io.RawIOBase):
    """A stream that can be read once, like standard input."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self.data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_that_cannot_seek_is_read_twice_from_a_copy(workspace: Workspace, topics: list[Topic]) -> None:
    body = jsonl({"text": "shigi from a pipe", "published_at": "2025-03-01T10:00:00Z"}).encode()
    assert import_file(workspace, io.BufferedReader(Pipe(body)), "jsonl").created == 1


def test_an_unknown_format_is_refused(workspace: Workspace) -> None:
    with pytest.raises(ValueError, match="jsonl or csv"):
        import_text(workspace, "", "xml")


def test_the_cli_imports_a_file_and_reports_bad_lines(
    workspace: Workspace, topics: list[Topic], tmp_path: Path
) -> None:
    good = tmp_path / "export.csv"
    good.write_text("text,published_at,network,remote_id\nshigi rocks,2025-03-01T10:00:00Z,x,1\n", encoding="utf-8")
    out = io.StringIO()
    call_command("listening", "import", "--workspace", "acme", "--format", "csv", "--json", str(good), stdout=out)
    summary = json.loads(out.getvalue())
    assert summary["stored"] == 1 and Source.objects.get(pk=summary["source"]).name == "export.csv"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "shigi"}\n', encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing was imported: 1 problem") as raised:
        call_command("listening", "import", "--workspace", "acme", "--format", "jsonl", str(bad), stderr=err)
    assert raised.value.returncode == 2 and "Line 1, published_at: is missing" in err.getvalue()
    with pytest.raises(CommandError, match="No workspace"):
        call_command("listening", "import", "--workspace", "nope", "--format", "csv", str(good))
