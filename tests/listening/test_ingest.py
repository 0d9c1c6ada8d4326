"""Listening ingest: matched items are stored once per workspace with their topics and hourly counts,
whichever source saw them; unmatched ones are dropped; topic edits are picked up; a rolled-back
batch leaves nothing and a re-run counts nothing twice; routing to the inbox."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from sokhan.core.models import Workspace
from sokhan.core.services import workspace_create
from sokhan.inbox.models import Conversation, Message, Priority
from sokhan.listening.engine import ENGINE, Engine
from sokhan.listening.ingest import IncomingItem, canonical_url, dedupe_key, ingest
from sokhan.listening.models import HourlyCount, Incident, Mention, MentionTopic, Source, SourceKind, Topic
from sokhan.ops.bench_sink import make_channel

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 10, 15, tzinfo=UTC)


def item(remote_id: str, text: str, *, network: str = "x", at: datetime = T0, **extra: object) -> IncomingItem:
    return IncomingItem(network=network, remote_id=remote_id, text=text, published_at=at, **extra)  # type: ignore[arg-type]


def topic(workspace: Workspace, name: str, query: str, **extra: object) -> Topic:
    return Topic.objects.create(workspace=workspace, name=name, query=query, **extra)


def hourly(topic_: Topic) -> dict[datetime, tuple[int, int, int, int]]:
    return {h.hour: (h.total, h.positive, h.neutral, h.negative) for h in HourlyCount.objects.filter(topic=topic_)}


def counts_agree_with_mentions() -> None:
    """Every hourly count equals the stored (mention, topic) links of that hour, by label."""
    expected: Counter[tuple[int, datetime, str]] = Counter()
    for link in MentionTopic.objects.select_related("mention"):
        hour = link.published_at.replace(minute=0, second=0, microsecond=0)
        expected[(link.topic_id, hour, "total")] += 1
        expected[(link.topic_id, hour, link.mention.sentiment)] += 1
    stored: Counter[tuple[int, datetime, str]] = Counter()
    for row in HourlyCount.objects.all():
        for label in ("total", "positive", "neutral", "negative"):
            if getattr(row, label):
                stored[(row.topic_id, row.hour, label)] = getattr(row, label)
    assert stored == expected


def test_matching_items_are_stored_with_topics_author_reach_and_hourly_counts(workspace: Workspace) -> None:
    shigi = topic(workspace, "Shigi", "شیگی OR shigi OR #شیگی")
    rival = topic(workspace, "Rival", "رقیب OR rival")
    result = ingest(
        workspace,
        [
            item(
                "1",
                "خرید از شيگي خیلی افتضاح بود، پشتیبانی جواب نداد",  # Arabic ي: folded by the matcher
                author_handle="sara",
                author_name="سارا",
                author_followers=1200,
                url="https://x.com/sara/status/1",
            ),
            item("2", "Shigi is great, way better than Rival! Love it", language="en", at=T0 + timedelta(minutes=30)),
            item("3", "nothing about any brand here", at=T0),
        ],
    )
    assert (result.received, result.stored, result.unmatched, result.duplicates, result.links) == (3, 2, 1, 0, 3)
    first = Mention.objects.get(workspace=workspace, remote_id="1")
    assert (first.network, first.dedupe_key, first.author_handle, first.author_name) == ("x", "x:1", "sara", "سارا")
    assert first.author_followers == 1200 and first.url == "https://x.com/sara/status/1"
    assert first.language == "fa" and first.published_at == T0  # detected offline
    assert first.sentiment == "negative" and first.sentiment_score is not None and first.sentiment_score < 0
    assert set(first.topics.all()) == {shigi}
    second = Mention.objects.get(workspace=workspace, remote_id="2")
    assert set(second.topics.all()) == {shigi, rival} and second.language == "en"
    assert not Mention.objects.filter(remote_id="3").exists()  # matched nothing: dropped
    hour = T0.replace(minute=0)
    assert hourly(shigi)[hour][0] == 2 and hourly(rival)[hour][0] == 1
    assert MentionTopic.objects.get(mention=second, topic=rival).published_at == second.published_at
    counts_agree_with_mentions()


def test_the_same_post_from_two_sources_and_two_runs_is_one_mention_counted_once(workspace: Workspace) -> None:
    shigi = topic(workspace, "Shigi", "shigi")
    search = Source.objects.create(workspace=workspace, kind=SourceKind.SEARCH, name="search", target="shigi")
    imported = Source.objects.create(workspace=workspace, kind=SourceKind.IMPORT, name="export.csv")
    post = item("77", "shigi delivery was late again", author_handle="ali")
    first = ingest(workspace, [post, post], source=search)
    again = ingest(workspace, [post], source=imported)
    assert (first.stored, first.duplicates) == (1, 1) and (again.stored, again.duplicates) == (0, 1)
    mention = Mention.objects.get(workspace=workspace)
    assert mention.source == search  # whichever source saw it first
    assert hourly(shigi)[T0.replace(minute=0)][0] == 1
    # Another workspace with the same topic keeps its own copy.
    other = workspace_create(owner=workspace.memberships.get().user, name="Other", slug="other")
    topic(other, "Shigi", "shigi")
    assert ingest(other, [post]).stored == 1
    assert Mention.objects.filter(dedupe_key="x:77").count() == 2
    counts_agree_with_mentions()


def test_feed_links_dedupe_whatever_the_tracking_parameters_and_scheme() -> None:
    a = IncomingItem("rss", "guid-1", "t", T0, url="https://News.example/a/1?utm_source=tg&id=5#top")
    b = IncomingItem("import", "", "t", T0, url="http://news.example:80/a/1?id=5&fbclid=zz")
    assert canonical_url(a.url) == canonical_url(b.url) == "news.example/a/1?id=5"
    assert dedupe_key(b) == "url:news.example/a/1?id=5"
    assert dedupe_key(IncomingItem("x", "9" * 400, "t", T0)).startswith("x:999") and len(dedupe_key(a)) <= 300


def test_only_the_workspaces_enabled_topics_are_matched(workspace: Workspace) -> None:
    other = workspace_create(owner=workspace.memberships.get().user, name="Other", slug="other")
    mine = topic(workspace, "Mine", "shigi")
    topic(other, "Theirs", "shigi OR rival")
    topic(workspace, "Off", "rival", enabled=False)
    ingest(workspace, [item("1", "shigi and rival")])
    assert list(Mention.objects.get(workspace=workspace).topics.all()) == [mine]
    assert ingest(workspace, [item("2", "only rival here")]).unmatched == 1


def test_a_topic_change_is_picked_up_by_the_next_batch(workspace: Workspace) -> None:
    engine = Engine()
    brand = topic(workspace, "Brand", "shigi")
    assert ingest(workspace, [item("1", "کفش تازه‌ی کیوان")], engine=engine).unmatched == 1
    syncs = engine.syncs
    assert ingest(workspace, [item("2", "nothing")], engine=engine).unmatched == 1
    assert engine.syncs == syncs  # the table did not change: nothing was read again
    Topic.objects.filter(pk=brand.pk).update(query="shigi OR کیوان", updated_at=timezone.now())
    assert ingest(workspace, [item("1", "کفش تازه‌ی کیوان")], engine=engine).stored == 1
    assert engine.matcher.query(brand.pk) is not None and len(engine.matcher) == 1
    Topic.objects.filter(pk=brand.pk).update(enabled=False, updated_at=timezone.now())
    assert ingest(workspace, [item("3", "shigi again")], engine=engine).unmatched == 1
    assert brand.pk not in engine.matcher
    Topic.objects.filter(pk=brand.pk).update(enabled=True, updated_at=timezone.now())
    assert ingest(workspace, [item("4", "shigi again")], engine=engine).stored == 1
    brand.delete()
    assert ingest(workspace, [item("5", "shigi once more")], engine=engine).unmatched == 1
    assert len(engine.matcher) == 0


def test_an_edit_that_left_updated_at_behind_is_found_by_the_periodic_full_read(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Engine()
    brand = topic(workspace, "Brand", "shigi")
    ingest(workspace, [item("1", "nothing")], engine=engine)
    Topic.objects.filter(pk=brand.pk).update(query="kiwan")  # updated_at not bumped
    assert ingest(workspace, [item("2", "kiwan")], engine=engine).unmatched == 1
    monkeypatch.setattr("sokhan.listening.engine.FULL_SYNC_SECONDS", 0.0)
    assert ingest(workspace, [item("2", "kiwan")], engine=engine).stored == 1


def test_a_topic_whose_query_no_longer_parses_is_left_out(workspace: Workspace) -> None:
    engine = Engine()
    broken = topic(workspace, "Broken", "apple AND")
    fine = topic(workspace, "Fine", "apple")
    ingest(workspace, [item("1", "apple pie")], engine=engine)
    assert "Column" in engine.errors[broken.pk] and list(Mention.objects.get().topics.all()) == [fine]


def test_lang_topics_detect_the_language_of_items_that_have_none(workspace: Workspace) -> None:
    persian = topic(workspace, "Persian only", "shigi lang:fa")
    result = ingest(
        workspace,
        [item("1", "امروز از shigi خرید کردم و خیلی راضی هستم"), item("2", "I bought from shigi today, very happy")],
    )
    assert result.stored == 1 and Mention.objects.get().remote_id == "1"
    assert list(Mention.objects.get().topics.all()) == [persian]


def test_a_rolled_back_batch_leaves_nothing_and_the_rerun_counts_once(workspace: Workspace) -> None:
    shigi = topic(workspace, "Shigi", "shigi")
    batch = [item(str(n), f"shigi post number {n}", at=T0 + timedelta(minutes=n * 20)) for n in range(6)]

    class Crash(Exception):
        pass

    with pytest.raises(Crash), transaction.atomic():  # the worker dies before the commit
        assert ingest(workspace, batch).stored == 6
        raise Crash
    assert not Mention.objects.exists() and not HourlyCount.objects.exists()
    assert ingest(workspace, batch).stored == 6
    assert ingest(workspace, batch).stored == 0  # and once more: nothing doubles
    assert HourlyCount.objects.filter(topic=shigi).aggregate(n=Sum("total"))["n"] == 6
    counts_agree_with_mentions()


def test_times_are_stored_in_utc_and_future_ones_are_now(workspace: Workspace) -> None:
    topic(workspace, "Shigi", "shigi")
    tehran = datetime(2025, 3, 1, 14, 0, tzinfo=UTC).astimezone(timezone.get_fixed_timezone(210))
    now = timezone.now()
    ingest(workspace, [item("1", "shigi", at=tehran), item("2", "shigi", at=now + timedelta(days=3))], now=now)
    assert Mention.objects.get(remote_id="1").published_at == datetime(2025, 3, 1, 14, 0, tzinfo=UTC)
    assert Mention.objects.get(remote_id="2").published_at == now


# --- routing to the inbox ------------------------------------------------------------------------


def search_source(workspace: Workspace, network: str = "bluesky") -> Source:
    channel = make_channel(workspace, "http://127.0.0.1:9", network=network, remote_id="did:plc:acme")
    return Source.objects.create(workspace=workspace, kind=SourceKind.SEARCH, name="s", channel=channel, target="x")


def bsky(rkey: str, text: str, at: datetime) -> IncomingItem:
    uri = f"at://did:plc:cust/app.bsky.feed.post/{rkey}"
    return IncomingItem(
        "bluesky", uri, text, at, author_id="did:plc:cust", author_handle="cust.test", url=f"https://bsky.app/{rkey}"
    )


def test_mentions_of_a_routed_topic_reach_the_inbox_at_high_priority(workspace: Workspace) -> None:
    source = search_source(workspace)
    topic(workspace, "Complaints", "shigi (بد OR افتضاح)", route_to_inbox=True)
    topic(workspace, "Brand", "shigi")
    now = timezone.now()
    result = ingest(
        workspace,
        [
            bsky("a1", "shigi خیلی بد بود", now - timedelta(minutes=5)),
            bsky("a2", "shigi is fine", now - timedelta(minutes=4)),
            bsky("a3", "shigi افتضاح بود پارسال", now - timedelta(days=30)),  # too old to answer
        ],
        source=source,
        now=now,
    )
    assert result.stored == 3 and result.routed == 1
    message = Message.objects.get(workspace=workspace)
    assert message.remote_id.endswith("/a1") and message.channel == source.channel
    assert message.conversation.kind == "mention" and message.conversation.priority == Priority.HIGH
    # Ingesting it again (another source saw it) does not add a second inbox message.
    ingest(workspace, [bsky("a1", "shigi خیلی بد بود", now - timedelta(minutes=5))], source=source, now=now)
    assert Message.objects.filter(workspace=workspace).count() == 1


def test_while_an_incident_is_open_every_matching_mention_is_urgent_in_the_inbox(workspace: Workspace) -> None:
    source = search_source(workspace)
    topic(workspace, "Brand", "shigi")
    Incident.objects.create(workspace=workspace, title="Outage")
    now = timezone.now()
    result = ingest(
        workspace, [bsky("b1", "shigi is down?", now), bsky("b2", "no brand here", now)], source=source, now=now
    )
    assert result.routed == 1
    assert Conversation.objects.get(workspace=workspace).priority == Priority.URGENT


def test_mentions_without_a_channel_or_from_another_network_stay_in_listening(workspace: Workspace) -> None:
    topic(workspace, "Brand", "shigi", route_to_inbox=True)
    feed = Source.objects.create(workspace=workspace, kind=SourceKind.FEED, name="news", target="https://n.example")
    now = timezone.now()
    assert ingest(workspace, [item("1", "shigi news", network="rss", at=now)], source=feed, now=now).routed == 0
    source = search_source(workspace)
    assert ingest(workspace, [item("2", "shigi on x", at=now)], source=source, now=now).routed == 0
    assert not Message.objects.filter(workspace=workspace).exists()


def test_the_shared_engine_holds_every_workspaces_topics(workspace: Workspace) -> None:
    other = workspace_create(owner=workspace.memberships.get().user, name="Other", slug="other")
    a, b = topic(workspace, "A", "shigi"), topic(other, "B", "kiwan")
    ingest(workspace, [item("1", "shigi")])
    assert a.pk in ENGINE.matcher and b.pk in ENGINE.matcher
    assert ENGINE.topics_of(workspace.pk) == {a.pk} and ENGINE.topics_of(other.pk) == {b.pk}


def test_a_source_of_another_workspace_is_refused(workspace: Workspace) -> None:
    other = workspace_create(owner=workspace.memberships.get().user, name="Other", slug="other")
    theirs = Source.objects.create(workspace=other, kind=SourceKind.IMPORT, name="theirs")
    with pytest.raises(ValueError, match="another workspace"):
        ingest(workspace, [item("1", "shigi")], source=theirs)
