"""The mentions list: each filter (the label that counts, language, network, author, days cut in
the viewer's zone, one hour, a listening query, corrections), keyset pages (also through a text
search's scan), the sentiment correction (page and API, audited), the corrections export (page and
``sokhan listening corrections``), other workspaces, and the mentions API."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.listening.mention_rows import mention, topic
from tests.web.helpers import sign_in

from sokhan.core.errors import DomainError
from sokhan.core.models import AuditEvent, User, Workspace
from sokhan.core.permissions import Role
from sokhan.core.services import workspace_create
from sokhan.listening import mention_filters
from sokhan.listening.mention_filters import MentionFilters, mentions_for, page_of, parse_filters, parse_text_query
from sokhan.listening.models import Mention, Topic

pytestmark = pytest.mark.django_db

TEHRAN = ZoneInfo("Asia/Tehran")


def tehran(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=TEHRAN)


@pytest.fixture(autouse=True)
def _clean(settings: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rows(workspace: Workspace) -> dict[str, Any]:
    acme = topic(workspace, "Acme", "acme OR آکمه")
    rival = topic(workspace, "Rival", "rival", "competitor")
    return {
        "acme": acme,
        "rival": rival,
        "a": mention(
            workspace,
            "آکمه عالی بود",
            tehran(21, 9),
            [acme],
            sentiment="positive",
            handle="Sara",
            name="سارا",
            followers=1200,
            url="https://t.me/c/1",
        ),
        "b": mention(
            workspace,
            "acme is slow",
            tehran(21, 10),
            [acme],
            sentiment="negative",
            corrected="neutral",
            language="en",
            network="mastodon",
            handle="nima",
        ),
        "c": mention(
            workspace,
            "rival and acme",
            tehran(22, 0, 20),
            [acme, rival],
            sentiment="negative",
            language="en",
            network="mastodon",
            handle="leila",
        ),
        "d": mention(workspace, "rival only", tehran(22, 12), [rival], sentiment="", language=""),
        "e": mention(workspace, "آکمه مثبت", tehran(22, 13), [acme], sentiment="positive", corrected="positive"),
    }


def ids(workspace: Workspace, data: dict[str, Any], zone: Any = TEHRAN) -> list[int]:
    filters = parse_filters(data)
    found, _cursor = page_of(mentions_for(workspace, filters, zone), size=100, text=parse_text_query(filters.text))
    return [m.pk for m in found]


def test_filters(workspace: Workspace, rows: dict[str, Any]) -> None:
    a, b, c, d, e = (rows[k].pk for k in "abcde")
    assert ids(workspace, {}) == [e, d, c, b, a]  # newest first
    assert ids(workspace, {"topic": str(rows["rival"].pk)}) == [d, c]
    assert ids(workspace, {"topic": f"{rows['rival'].pk},{rows['acme'].pk}"}) == [e, d, c, b, a]
    # The label that counts: b's correction (neutral) wins over the model's negative.
    assert ids(workspace, {"sentiment": "negative"}) == [c]
    assert ids(workspace, {"sentiment": "neutral"}) == [b]
    assert ids(workspace, {"sentiment": "positive,none"}) == [e, d, a]
    assert ids(workspace, {"language": "en"}) == [c, b]
    assert ids(workspace, {"language": "unknown"}) == [d]
    assert ids(workspace, {"network": "Mastodon"}) == [c, b]
    assert ids(workspace, {"author": "@sara"}) == [a]
    assert ids(workspace, {"corrected": "yes"}) == [e, b]
    assert ids(workspace, {"corrected": "agreed"}) == [e]
    assert ids(workspace, {"corrected": "changed"}) == [b]
    # A listening query, matched the product's way (Arabic letter forms, case, whole words).
    assert ids(workspace, {"q": "آكمه -مثبت"}) == [a]
    assert ids(workspace, {"q": "ACME"}) == [c, b]


def test_days_are_cut_at_the_first_whole_utc_hour(workspace: Workspace, rows: dict[str, Any]) -> None:
    a, b, c, d, e = (rows[k].pk for k in "abcde")
    # c was published at 00:20 Tehran on the 22nd (20:50 UTC on the 21st): its hour bucket, 20:00 UTC,
    # begins at 23:30 Tehran on the 21st, so the list counts it on the 21st, as the charts do.
    assert ids(workspace, {"from": "2026-03-21", "to": "2026-03-21"}) == [c, b, a]
    assert ids(workspace, {"from": "1405/01/02", "to": "۱۴۰۵/۰۱/۰۲"}) == [e, d]  # Jalali, Persian digits
    assert ids(workspace, {"from": "2026-03-22"}, ZoneInfo("UTC")) == [e, d]
    assert ids(workspace, {"hour": "2026-03-21T20:00Z"}) == [c]
    assert ids(workspace, {"hour": "2026-03-21T20:00:00+00:00", "from": "2026-03-22"}) == []


def test_bad_filters_name_the_field(workspace: Workspace) -> None:
    for data, field in (
        ({"sentiment": "happy"}, "sentiment"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-03-22", "to": "2026-03-21"}, "to"),
        ({"q": "acme AND"}, "q"),
        ({"topic": "x"}, "topic"),
        ({"hour": "noon"}, "hour"),
        ({"corrected": "maybe"}, "corrected"),
    ):
        with pytest.raises(DomainError) as error:
            parse_filters(data)
        assert set(error.value.fields) == {field}, data


def test_keyset_pages_and_a_text_search_that_scans(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    made = [
        mention(workspace, f"post {i} {'acme' if i % 3 == 0 else 'other'}", start + timedelta(minutes=i), hourly=False)
        for i in range(12)
    ]
    newest_first = [m.pk for m in reversed(made)]
    rows = mentions_for(workspace, MentionFilters(), ZoneInfo("UTC"))
    first, cursor = page_of(rows, size=5)
    second, cursor2 = page_of(rows, size=5, before=cursor)
    third, cursor3 = page_of(rows, size=5, before=cursor2)
    assert [m.pk for m in first + second + third] == newest_first and cursor3 == ""

    monkeypatch.setattr(mention_filters, "SCAN_BATCH", 2)
    monkeypatch.setattr(mention_filters, "SCAN_LIMIT", 4)
    query = parse_text_query("acme")
    acme_ids = [pk for pk, m in zip(newest_first, reversed(made), strict=True) if "acme" in m.text]
    seen: list[int] = []
    cursor = ""
    for _page in range(10):  # the scan limit ends pages early; the cursor goes on from the last row read
        found, cursor = page_of(rows, size=3, before=cursor, text=query)
        seen += [m.pk for m in found]
        if not cursor:
            break
    assert seen == acme_ids


def client_for(user: User, language: str = "en") -> Client:
    client = Client()
    sign_in(client, user.email, language=language)
    return client


def test_the_page_shows_each_mention(owner: User, rows: dict[str, Any]) -> None:
    text = client_for(owner).get("/w/acme/listening/mentions/?from=2026-03-21&to=2026-03-22").content.decode()
    item = re.search(rf'<li class="mention" id="mention-{rows["a"].pk}".*?</li>', text, re.S)
    assert item is not None
    shown = item.group(0)
    assert "سارا" in shown and "@Sara" in shown and "1200 followers" in shown
    assert 'href="https://t.me/c/1"' in shown and "21 Mar 2026, 09:00" in shown
    assert 'data-label="positive"' in shown
    corrected = re.search(rf'<li class="mention" id="mention-{rows["b"].pk}".*?</li>', text, re.S)
    assert corrected is not None and "the model said Negative" in corrected.group(0)
    assert 'name="from" value="2026-03-21"' in text

    persian = client_for(owner, language="fa").get("/w/acme/listening/mentions/?from=2026-03-21").content.decode()
    assert '<html lang="fa" dir="rtl">' in persian
    assert "۱ فروردین ۱۴۰۵، ۰۹:۰۰" in persian  # Jalali date, Persian digits, the viewer's zone
    assert 'name="from" value="۱۴۰۵/۰۱/۰۱"' in persian
    hour = client_for(owner).get("/w/acme/listening/mentions/?hour=2026-03-21T05:00Z").content.decode()
    assert 'id="hour-filter"' in hour and "21 Mar 2026, 08:30" in hour  # 05:00 UTC in Tehran
    assert re.findall(r'<li class="mention" id="mention-(\d+)"', hour) == [str(rows["a"].pk)]
    bad = client_for(owner).get("/w/acme/listening/mentions/?q=acme+AND")
    assert bad.status_code == 400 and 'id="filter-error"' in bad.content.decode()


def test_correct_a_mention_on_the_page(owner: User, rows: dict[str, Any]) -> None:
    client = client_for(owner)
    a = rows["a"]
    back = "/w/acme/listening/mentions/?sentiment=positive"
    response = client.post(f"/w/acme/listening/mentions/{a.pk}/sentiment/", {"label": "negative", "next": back})
    assert response.status_code == 302 and response["Location"] == f"{back}#mention-{a.pk}"
    a.refresh_from_db()
    assert (a.sentiment, a.corrected_sentiment, a.label, a.corrected_by) == ("positive", "negative", "negative", owner)
    assert a.corrected_at is not None
    event = AuditEvent.objects.get(action="listening.mention.correct")
    assert event.data == {"from": "positive", "to": "negative"} and event.target == f"mention:{a.pk}"
    as_json = client.post(
        f"/w/acme/listening/mentions/{a.pk}/sentiment/", {"label": "positive"}, headers={"Accept": "application/json"}
    )
    assert as_json.json() == {"ok": True, "label": "positive", "shown": "Positive"}
    bad = client.post(
        f"/w/acme/listening/mentions/{a.pk}/sentiment/", {"label": "great"}, headers={"Accept": "application/json"}
    )
    assert bad.status_code == 400


def test_who_may_correct(workspace: Workspace, make_member: Any, rows: dict[str, Any]) -> None:
    editor = client_for(make_member(Role.EDITOR))
    page = editor.get("/w/acme/listening/mentions/").content.decode()
    assert 'class="correct-form"' not in page
    assert (
        editor.post(f"/w/acme/listening/mentions/{rows['a'].pk}/sentiment/", {"label": "negative"}).status_code == 403
    )
    stranger = User.objects.create_user("s@example.com", "correct horse battery staple")
    other = workspace_create(owner=stranger, name="Other", slug="other")
    theirs = mention(other, "theirs", tehran(21, 9))
    mine = client_for(User.objects.get(email="owner@example.com"))
    assert mine.post(f"/w/acme/listening/mentions/{theirs.pk}/sentiment/", {"label": "negative"}).status_code == 404
    assert client_for(stranger).get("/w/acme/listening/mentions/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.corrected_sentiment == ""


def test_corrections_export(owner: User, workspace: Workspace, rows: dict[str, Any], tmp_path: Path) -> None:
    expected = [
        {"text": "acme is slow", "lang": "en", "label": "neutral"},
        {"text": "آکمه مثبت", "lang": "fa", "label": "positive"},
    ]
    Mention.objects.filter(pk=rows["b"].pk).update(corrected_at=tehran(23, 1))
    Mention.objects.filter(pk=rows["e"].pk).update(corrected_at=tehran(23, 2))
    response = client_for(owner).get("/w/acme/listening/mentions/corrections.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert [json.loads(line) for line in body.splitlines()] == expected
    assert "آکمه" in body  # UTF-8, not escaped

    out = io.StringIO()
    call_command("listening", "corrections", "--workspace", "acme", stdout=out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == expected
    target = tmp_path / "corrections.jsonl"
    call_command("listening", "corrections", "--workspace", "acme", "--output", str(target))
    assert [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()] == expected
    with pytest.raises(CommandError, match="No workspace"):
        call_command("listening", "corrections", "--workspace", "nope")


# ------------------------------------------------------------------ API


def test_mentions_api(owner: User, workspace: Workspace, rows: dict[str, Any]) -> None:
    api = ApiClient(make_token(owner, workspace, ["write"]))
    page = api.get("/workspaces/acme/listening/mentions", {"sentiment": "neutral"}).json()
    assert [m["id"] for m in page["results"]] == [rows["b"].pk] and page["next"] is None
    item = page["results"][0]
    assert (item["sentiment"], item["corrected_sentiment"], item["label"]) == ("negative", "neutral", "neutral")
    assert item["topics"] == [rows["acme"].pk]
    first = api.get("/workspaces/acme/listening/mentions", {"size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    rest = api.get("/workspaces/acme/listening/mentions", {"size": 10, "before": first["next"]}).json()
    assert len(rest["results"]) == 3
    assert_error(api.get("/workspaces/acme/listening/mentions", {"q": "acme AND"}), 400, "query_syntax")

    corrected = api.post(f"/workspaces/acme/listening/mentions/{rows['d'].pk}/sentiment", {"label": "negative"})
    assert corrected.status_code == 200 and corrected.json()["label"] == "negative"
    assert corrected.json()["topics"] == [rows["rival"].pk]
    assert_error(api.post(f"/workspaces/acme/listening/mentions/{rows['d'].pk}/sentiment", {"label": "x"}), 400)
    stranger = User.objects.create_user("s@example.com", "correct horse battery staple")
    theirs = mention(workspace_create(owner=stranger, name="Other", slug="other"), "theirs", tehran(21, 9))
    assert_error(api.post(f"/workspaces/acme/listening/mentions/{theirs.pk}/sentiment", {"label": "negative"}), 404)


def test_topic_rows_from_another_workspace_do_not_leak(owner: User, workspace: Workspace, rows: dict[str, Any]) -> None:
    stranger = User.objects.create_user("s@example.com", "correct horse battery staple")
    other = workspace_create(owner=stranger, name="Other", slug="other")
    theirs = Topic.objects.create(workspace=other, name="T", query="acme")
    mention(other, "acme there", tehran(21, 9), [theirs])
    # Filtering by another workspace's topic id finds nothing here.
    assert ids(workspace, {"topic": str(theirs.pk)}) == []
