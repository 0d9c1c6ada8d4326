"""``feed`` sources: RSS 2.0 and Atom news feeds.

Fetched with automation's safe fetcher (``sokhan.automation.fetch``: http(s) only, redirects
checked again, a size limit, private and loopback addresses refused unless
``AUTOMATION_FETCH_ALLOW_PRIVATE``) and a conditional GET: the ``ETag`` and ``Last-Modified`` of
the last answer are kept in the source's cursor (JSON), and a 304 stores nothing. Parsed with
``feedparser``, as automation's feed watches are.

An item is one mention: its title and summary as the text, its link as the URL, the feed's host as
the author's handle (the outlet) and the item's author (else the feed's title) as the author's
name, the item's language (Atom ``xml:lang``) else the feed's (``<language>``) else detected.
Its dedupe key is its canonical link (``url:host/path?query``, tracking parameters dropped), so
the same article in two feeds, or in a feed and an imported file, is one mention; an item without a
link is known by its GUID. Every item of the feed is read on the first poll (news of the last days
is what listening wants); an item without a date takes the time it was first read.
"""

from __future__ import annotations

import json
from calendar import timegm
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser  # type: ignore[import-untyped]  # feedparser ships no types
from django.utils.translation import gettext as _

from sokhan.automation.feeds import ACCEPT, clean_text
from sokhan.automation.fetch import FEED_MAX_BYTES, FetchError, fetch
from sokhan.listening.ingest import IncomingItem, canonical_url
from sokhan.listening.models import Source
from sokhan.listening.sources import PollResult, SourceError, store_page

NETWORK = "rss"  # the connector key of feeds, so ``channel:rss`` selects them


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(timegm(value), tz=UTC)
    return None


def _language(entry: Any, default: str) -> str:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key) or {}
        if detail.get("language"):
            return str(detail["language"])
    return default


def parse_items(body: bytes, *, url: str, now: datetime) -> list[IncomingItem]:
    """The feed's items as listening items; ``FetchError`` when it is not a feed."""
    parsed = feedparser.parse(body)
    if parsed.get("bozo") and not parsed.entries:
        raise FetchError(
            _("This is not a readable RSS or Atom feed (%(error)s).") % {"error": parsed.get("bozo_exception")}
        )
    if not parsed.get("version") and not parsed.entries:
        raise FetchError(_("This is not an RSS or Atom feed."))
    feed = parsed.feed
    feed_title = clean_text(str(feed.get("title", "") or ""))
    feed_language = str(feed.get("language", "") or "")
    outlet = (urlsplit(str(feed.get("link", "") or url)).hostname or "").lower()
    items: list[IncomingItem] = []
    for entry in parsed.entries:
        title = clean_text(str(entry.get("title", "") or ""))
        summary_html = entry.get("summary", "") or ""
        if not summary_html and entry.get("content"):
            summary_html = entry["content"][0].get("value", "")
        summary = clean_text(str(summary_html))
        text = title if not summary or summary == title else f"{title}\n\n{summary}".strip()
        link = str(entry.get("link", "") or "").strip()
        guid = str(entry.get("id", "") or "").strip()
        if not text or not (link or guid):
            continue
        canonical = canonical_url(link)
        items.append(
            IncomingItem(
                network=NETWORK,
                remote_id=guid or link,
                text=text,
                published_at=_when(entry) or now,
                url=link,
                author_handle=outlet,
                author_name=clean_text(str(entry.get("author", "") or "")) or feed_title,
                language=_language(entry, feed_language),
                dedupe_key=f"url:{canonical}" if canonical else "",
            )
        )
    return items


def _validators(cursor: str, url: str) -> dict[str, str]:
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        return {}
    # A changed address starts afresh: the old validators belong to another document.
    return state if isinstance(state, dict) and state.get("url") == url else {}


def poll_feed(source: Source, now: datetime, outcome: PollResult) -> None:
    url = source.target.strip()
    if not url:
        raise SourceError(_("This feed source has no address."))
    started_from = source.cursor
    state = _validators(started_from, url)
    fetched = fetch(
        url,
        max_bytes=FEED_MAX_BYTES,
        etag=str(state.get("etag") or ""),
        last_modified=str(state.get("last_modified") or ""),
        accept=ACCEPT,
    )
    outcome.pages += 1
    if fetched.status == 304:
        store_page(source, [], started_from, started_from, now=now)
        return
    items = parse_items(fetched.body, url=fetched.url, now=now)
    cursor = json.dumps({"url": url, "etag": fetched.etag, "last_modified": fetched.last_modified})
    outcome.result.add(store_page(source, items, cursor, started_from, now=now))
