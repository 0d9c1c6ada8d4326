"""Feed sources against a loopback HTTP server: RSS and Atom items become mentions (language from
the feed, the outlet as author), conditional GET, one article in two feeds is one mention, errors
and private addresses are stored on the source."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from tests.automation.conftest import LoopbackServer, _handler

from sokhan.core.models import Workspace
from sokhan.listening.feeds import parse_items
from sokhan.listening.models import Mention, Source, SourceKind, Topic
from sokhan.listening.sources import poll_source

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)
HOURS_2 = timedelta(hours=2)


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: Any) -> None:
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = True


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """automation's loopback feed server (its answers set by the test), started here."""
    holder = LoopbackServer(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    holder.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield holder
    httpd.shutdown()
    httpd.server_close()


def rss(items: list[tuple[str, str, str, datetime | None]]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description><![CDATA[<p>{title} — <b>گزارش</b> کامل</p>]]></description>"
        + (f"<pubDate>{format_datetime(when)}</pubDate>" if when else "")
        + "<author>news@khabar.example (مریم)</author></item>"
        for guid, title, link, when in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>خبرگزاری نمونه</title>'
        f"<link>https://khabar.example/</link><language>fa-IR</language>{body}</channel></rss>"
    )


def atom(entries: list[tuple[str, str, str, datetime]]) -> str:
    body = "".join(
        f'<entry><id>{guid}</id><title>{title}</title><link href="{link}"/><updated>{when.isoformat()}</updated>'
        f"<summary>About {title}</summary><author><name>Tech Desk</name></author></entry>"
        for guid, title, link, when in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
        f'<title>World Tech</title><link href="https://tech.example/"/><id>urn:tech</id>'
        f"<updated>{NOW.isoformat()}</updated>{body}</feed>"
    )


def feed_source(workspace: Workspace, url: str, name: str = "news") -> Source:
    return Source.objects.create(workspace=workspace, kind=SourceKind.FEED, name=name, target=url)


def test_rss_items_that_match_become_mentions_and_a_304_changes_nothing(
    workspace: Workspace, loopback: LoopbackServer
) -> None:
    Topic.objects.create(workspace=workspace, name="Shigi", query="شیگی")
    url = loopback.serve(
        "/fa.xml",
        rss(
            [
                ("urn:1", "شیگی قیمت‌ها را کم کرد", "https://khabar.example/n/1?utm_source=rss", NOW - HOURS_2),
                ("urn:2", "بازار خودرو آرام است", "https://khabar.example/n/2", NOW - timedelta(hours=1)),
                ("urn:3", "مصاحبه با مدیر شیگی", "https://khabar.example/n/3", None),
            ]
        ),
        content_type="application/rss+xml; charset=utf-8",
        etag='"v1"',
    )
    source = feed_source(workspace, url)
    outcome = poll_source(source)
    assert outcome.error == "" and (outcome.result.stored, outcome.result.unmatched) == (2, 1)
    first = Mention.objects.get(workspace=workspace, remote_id="urn:1")
    assert (first.network, first.language, first.author_handle, first.author_name) == (
        "rss",
        "fa",
        "khabar.example",
        "news@khabar.example (مریم)",
    )
    assert first.text == "شیگی قیمت‌ها را کم کرد\n\nشیگی قیمت‌ها را کم کرد — گزارش کامل"
    assert first.dedupe_key == "url:khabar.example/n/1" and first.url.endswith("/n/1?utm_source=rss")
    assert first.published_at == NOW - HOURS_2
    undated = Mention.objects.get(workspace=workspace, remote_id="urn:3")
    assert timezone.now() - undated.published_at < timedelta(minutes=1)  # first read now
    source.refresh_from_db()
    assert json.loads(source.cursor)["etag"] == '"v1"' and source.last_error == ""
    again = poll_source(source)
    assert again.error == "" and again.result.received == 0  # 304 Not Modified
    assert loopback.requests[-1][1]["if-none-match"] == '"v1"'
    assert Mention.objects.filter(workspace=workspace).count() == 2


def test_one_article_in_two_feeds_is_one_mention_and_atom_gives_its_language(
    workspace: Workspace, loopback: LoopbackServer
) -> None:
    Topic.objects.create(workspace=workspace, name="Shigi", query="shigi OR شیگی")
    rss_url = loopback.serve("/fa.xml", rss([("urn:1", "شیگی و shigi", "https://khabar.example/n/1", NOW)]))
    atom_url = loopback.serve(
        "/en.atom",
        atom(
            [
                ("tag:tech,1", "Shigi cuts prices", "https://KHABAR.example/n/1?fbclid=abc", NOW),
                ("tag:tech,2", "Shigi opens in Shiraz", "https://tech.example/2", NOW - timedelta(minutes=5)),
            ]
        ),
        content_type="application/atom+xml",
    )
    assert poll_source(feed_source(workspace, rss_url, "fa")).result.stored == 1
    second = poll_source(feed_source(workspace, atom_url, "en"))
    assert (second.result.stored, second.result.duplicates) == (1, 1)
    shiraz = Mention.objects.get(workspace=workspace, remote_id="tag:tech,2")
    assert (shiraz.language, shiraz.author_name, shiraz.author_handle) == ("en", "Tech Desk", "tech.example")


def test_a_page_that_is_not_a_feed_or_a_missing_feed_is_an_error_on_the_source(
    workspace: Workspace, loopback: LoopbackServer
) -> None:
    page = loopback.serve("/page.html", "<html><body>hello</body></html>", content_type="text/html")
    html = feed_source(workspace, page)
    assert "not an RSS or Atom feed" in poll_source(html).error
    missing = feed_source(workspace, loopback.base + "/gone.xml")
    assert "404" in poll_source(missing).error
    missing.refresh_from_db()
    assert "404" in missing.last_error and missing.cursor == ""


def test_private_addresses_are_refused_unless_allowed(workspace: Workspace, settings: Any) -> None:
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = False
    inside = feed_source(workspace, "http://127.0.0.1:9/feed.xml")
    assert "inside this server's network" in poll_source(inside).error


def test_parse_items_keeps_guid_only_items_and_skips_empty_ones() -> None:
    body = (
        '<rss version="2.0"><channel><title>T</title>'
        '<item><guid isPermaLink="false">only-guid</guid><title>عنوان بدون پیوند</title></item>'
        "<item><link>https://n.example/empty</link></item></channel></rss>"
    ).encode()
    [only] = parse_items(body, url="https://n.example/feed", now=NOW)
    assert (only.remote_id, only.dedupe_key, only.author_handle) == ("only-guid", "", "n.example")
