"""Listening end to end, as a new user would go through it: a brand against two competitors, in
Persian and English, ingested from a real local Bluesky network and a news feed; share of voice,
sentiment and trends on the insight page; a burst of negative posts raises an alert that reaches
the owner; crisis mode pauses publishing."""

from __future__ import annotations

import io
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.automation.conftest import LoopbackServer, _handler
from tests.e2e.conftest import PDS
from tests.e2e.helpers import new_bluesky_account
from tests.e2e.servers.harness import eventually

from sokhan.channels.services import Connected, channel_connect
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.services import workspace_create
from sokhan.listening.alerts import detect_workspace
from sokhan.listening.imports import import_file
from sokhan.listening.insight import Period, insight_for
from sokhan.listening.models import Alert, Mention, TopicKind
from sokhan.listening.services import topic_create
from sokhan.listening.services_sources import source_create
from sokhan.listening.sources import poll_source
from sokhan.networks.types import PublishRequest
from sokhan.notifications.models import Notification
from sokhan.publishing.services import publishing_control

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "pw-parisa-123456"


def rss(items: list[tuple[str, str, datetime]]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>https://khabar.example/{guid}</link><guid>{guid}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for guid, title, when in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>خبرگزاری نمونه</title>'
        f"<link>https://khabar.example/</link><language>fa-IR</language>{body}</channel></rss>"
    )


def history(now: datetime) -> str:
    """Three weeks of ordinary talk about the three brands, one JSON line per post (what a user
    exports from another tool and imports here): a few mentions an hour, about one in ten negative."""
    lines = []
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=21)
    texts = [
        ("نیکان", "fa", "سفارشم از نیکان رسید، ممنون"),
        ("nikan", "en", "got my nikan order today, thanks"),
        ("آروین", "fa", "آروین هم بد نیست"),
        ("tiva", "en", "tiva prices look fine"),
        ("نیکان", "fa", "نیکان دیر فرستاد، بد بود"),
    ]
    n = 0
    for hour in range(21 * 24 - 2):
        at = start + timedelta(hours=hour)
        for k in range(3):
            _brand, lang, text = texts[(hour + k) % len(texts)]
            n += 1
            lines.append(
                json.dumps(
                    {
                        "id": f"h{n}",
                        "network": "archive",
                        "text": text,
                        "lang": lang,
                        "author": f"user{n % 40}",
                        "followers": 100 + n % 900,
                        "published_at": (at + timedelta(minutes=10 * k)).isoformat(),
                    },
                    ensure_ascii=False,
                )
            )
    return "\n".join(lines) + "\n"


def test_brand_against_competitors_alert_and_crisis_mode(
    transactional_db: None, bluesky_server: str, settings: Any
) -> None:
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = True  # the news feed is served on 127.0.0.1
    owner = User.objects.create_user("parisa@example.com", PASSWORD, full_name="پریسا")
    workspace = workspace_create(owner=owner, name="نیکان", slug="nikan", timezone_name="Asia/Tehran")
    actor = Membership.objects.select_related("workspace", "user").get(user=owner)
    brand_account = new_bluesky_account(bluesky_server, "nikan")
    people = [new_bluesky_account(bluesky_server, "reader"), new_bluesky_account(bluesky_server, "angry")]

    def connect() -> Connected | None:
        try:
            values = {
                "username": brand_account.credentials.username,
                "password": brand_account.credentials.password,
                "base_url": PDS,
            }
            return channel_connect(actor=actor, network="bluesky", values=values)
        except DomainError as exc:
            assert "Profile not found" in exc.message, exc.message  # the app view indexes new accounts later
            return None

    connected = eventually(connect, "the brand's profile to be indexed", seconds=90, every=2)
    assert connected is not None

    # Topics: the brand and two competitors, each in Persian and English spellings.
    brand = topic_create(actor=actor, name="نیکان", kind=TopicKind.BRAND, query="نیکان OR nikan")
    arvin = topic_create(actor=actor, name="آروین", kind=TopicKind.COMPETITOR, query="آروین OR arvin")
    tiva = topic_create(actor=actor, name="Tiva", kind=TopicKind.COMPETITOR, query="تیوا OR tiva")

    # Sources: Bluesky search (a run-specific word keeps earlier runs' posts on the local network
    # out), a news feed, and the history exported from another tool.
    run = f"r{uuid.uuid4().hex[:6]}"
    search = source_create(actor=actor, kind="search", name="Bluesky", channel_id=connected.channel.pk, target=run)
    now = timezone.now()
    news_items = [
        ("n1", "نیکان شعبهٔ تازه‌ای در شیراز باز کرد", now - timedelta(hours=3)),
        ("n2", "آروین قیمت‌ها را بالا برد", now - timedelta(hours=2)),
        ("n3", "Tiva opens a store in Tabriz", now - timedelta(hours=1)),
    ]
    imported = import_file(workspace, io.BytesIO(history(now).encode()), "jsonl", name="history.jsonl")
    assert imported.errors == [] and imported.created > 1000

    for person in people:
        eventually(person.verify, "the account's profile", seconds=90, every=2)
    people[0].publish(PublishRequest(text=f"{run} خرید از نیکان عالی بود، ممنون", idempotency_key=f"a-{run}"))
    people[0].publish(PublishRequest(text=f"{run} arvin support was helpful", idempotency_key=f"b-{run}"))

    def polled(expected: int) -> list[Mention] | None:
        outcome = poll_source(search)
        assert outcome.error == "", outcome.error
        rows = list(Mention.objects.filter(workspace=workspace, source=search))
        return rows if len(rows) >= expected else None

    eventually(lambda: polled(2), "the posts found by the search source", seconds=90, every=3)

    # The news feed, read like any source.
    with _feed(news_items) as url:
        feed = source_create(actor=actor, kind="feed", name="خبرگزاری نمونه", target=url)
        outcome = poll_source(feed)
        assert outcome.error == "", outcome.error
    from_feed = Mention.objects.filter(workspace=workspace, source=feed)
    assert from_feed.count() == 3
    assert {t.pk for m in from_feed for t in m.topics.all()} == {brand.pk, arvin.pk, tiva.pk}

    # Insight over the last week: share of voice, sentiment and trends, and what the page shows.
    today = timezone.localdate()
    week = Period(today - timedelta(days=6), today, timezone.get_current_timezone())
    insight = insight_for(workspace, [brand, arvin, tiva], week)
    assert insight.brand_volume > 0 and insight.competitor_volume > 0
    expected_sov = insight.brand_volume / (insight.brand_volume + insight.competitor_volume)
    assert insight.share_of_voice == pytest.approx(expected_sov)
    assert insight.sentiments.positive > 0 and insight.sentiments.negative > 0
    client = Client()
    assert client.login(email=owner.email, password=PASSWORD)
    page = client.get(reverse("listening:insight", kwargs={"ws": workspace.slug}))
    assert page.status_code == 200
    html = page.content.decode()
    assert "نیکان" in html and "آروین" in html and "Tiva" in html

    # A burst of negative posts about the brand this hour.
    for i in range(14):
        people[1].publish(
            PublishRequest(text=f"{run} نیکان افتضاح است، سفارشم نرسید {i}", idempotency_key=f"n{i}-{run}")
        )
    eventually(lambda: polled(16), "the burst found by the search source", seconds=120, every=3)
    alerts = detect_workspace(workspace)
    brand_alerts = [a for a in alerts if a.topic_id == brand.pk]
    assert brand_alerts, [(a.topic_id, a.kind) for a in Alert.objects.all()]
    assert {a.kind for a in brand_alerts} & {"negative", "volume"}
    alert = brand_alerts[0]
    assert alert.mention_ids and alert.probability < 1e-3
    assert Notification.objects.filter(user=owner, workspace=workspace).exists()
    alerts_page = client.get(reverse("crisis:alerts", kwargs={"ws": workspace.slug}))
    assert alerts_page.status_code == 200 and "نیکان" in alerts_page.content.decode()

    # Crisis mode from the alert: one action, and publishing is paused.
    started = client.post(
        reverse("crisis:start", kwargs={"ws": workspace.slug}),
        {"title": "سفارش‌های نرسیده", "owner": owner.pk, "topics": [brand.pk], "alert": alert.pk},
    )
    assert started.status_code == 302, started.content.decode()[:2000]
    assert publishing_control(workspace).paused
    posts_page = client.get(reverse("crisis:home", kwargs={"ws": workspace.slug}))
    assert "سفارش‌های نرسیده" in posts_page.content.decode()


class _feed:
    """The news feed served for the duration of a ``with`` block."""

    def __init__(self, items: list[tuple[str, str, datetime]]) -> None:
        self.items = items

    def __enter__(self) -> str:
        self.holder = LoopbackServer(base="")
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.holder))
        self.holder.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        body = rss([(guid, title, when.astimezone(UTC)) for guid, title, when in self.items])
        return self.holder.serve("/rss", body, content_type="application/rss+xml")

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
