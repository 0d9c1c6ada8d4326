"""Polling listening sources through connected channels, against recorded exchanges shaped like the
networks' documented APIs: a hashtag timeline page by page with its cursor, a search, a bot's chats
(shared with the inbox), errors stored on the source, and the schedule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from tests.networks.replay import Replay, ReplayServer, load
from tests.networks.test_bluesky import session_creds

from sokhan.channels.models import Channel
from sokhan.core.models import Workspace
from sokhan.inbox.models import Kind, Message
from sokhan.inbox.poll import inbox_streams
from sokhan.listening.models import Mention, Source, SourceKind, Topic
from sokhan.listening.sources import claim_due, poll_source
from sokhan.listening.tasks import poll_listening_source, poll_listening_sources
from sokhan.networks.types import Credentials
from sokhan.ops.bench_sink import make_channel
from sokhan.runtime.models import Job
from sokhan.runtime.schedules import registered_schedules

pytestmark = pytest.mark.django_db


@pytest.fixture
def replay() -> Iterator[object]:
    started: list[Replay] = []

    def start(name: str) -> Replay:
        server = ReplayServer(load(name))
        started.append(server.__enter__())
        servers.append(server)
        return started[-1]

    servers: list[ReplayServer] = []
    yield start
    for server in servers:
        server.__exit__(None, None, None)
    for one in started:
        one.verify()


def source(workspace: Workspace, channel: Channel, kind: str, target: str, **extra: object) -> Source:
    return Source.objects.create(
        workspace=workspace, kind=kind, name=f"{kind} {target}", channel=channel, target=target, **extra
    )


def test_a_hashtag_source_reads_page_after_page_from_its_cursor(workspace: Workspace, replay) -> None:  # type: ignore[no-untyped-def]
    server = replay("mastodon/hashtag_timeline")
    channel = make_channel(workspace, server.url, credentials=Credentials(access_token="tok-123"))
    Topic.objects.create(workspace=workspace, name="Yalda", query="#یلدا OR یلدا")
    tag = source(workspace, channel, SourceKind.HASHTAG, "یلدا", cursor="110100")
    outcome = poll_source(tag)
    assert outcome.error == "" and outcome.pages == 2  # the second page was empty: caught up
    assert outcome.result.stored == 2
    tag.refresh_from_db()
    assert tag.cursor == "110130" and tag.last_error == "" and tag.last_polled_at is not None
    persian = Mention.objects.get(workspace=workspace, remote_id="110130")
    assert (persian.network, persian.source, persian.language) == ("mastodon", tag, "fa")
    assert persian.author_handle == "sara@persian.example" and persian.author_followers == 42
    assert persian.text == "شب #یلدا با انار و هندوانه" and persian.url == "https://persian.example/@sara/110130"
    english = Mention.objects.get(workspace=workspace, remote_id="110120")
    assert english.language == "en" and english.text == "Happy #یلدا everyone & family"


def test_a_search_source_stops_when_the_cursor_stops_moving(workspace: Workspace, replay) -> None:  # type: ignore[no-untyped-def]
    server = replay("bluesky/listening_search")  # since is inclusive: the second page repeats the newest
    channel = make_channel(
        workspace,
        server.url,
        network="bluesky",
        credentials=session_creds(),
    )
    Topic.objects.create(workspace=workspace, name="Sokhan", query="سخن")
    search = source(workspace, channel, SourceKind.SEARCH, "سخن", cursor="2024-05-01T09:00:00.000Z")
    outcome = poll_source(search)
    assert outcome.error == "" and outcome.result.stored == 2
    search.refresh_from_db()
    assert search.cursor == "2024-05-01T10:06:00.000Z"
    assert set(Mention.objects.values_list("author_handle", "language")) == {("reza.test", "fa")}


def test_a_hashtag_on_a_network_without_hashtag_timelines_is_searched_for(workspace: Workspace, replay) -> None:  # type: ignore[no-untyped-def]
    server = replay("x/listening_hashtag_search")  # X: search only; the query is "#یلدا"
    channel = make_channel(
        workspace,
        f"{server.url}/2",
        network="x",
        remote_id="2244994945",
        credentials=Credentials(access_token="x-access"),
    )
    Topic.objects.create(workspace=workspace, name="Yalda", query="#یلدا")
    tag = source(workspace, channel, SourceKind.HASHTAG, "#یلدا", cursor="1400")
    outcome = poll_source(tag)
    assert outcome.error == "" and outcome.result.stored == 2 and outcome.pages == 2
    maryam = Mention.objects.get(workspace=workspace, remote_id="1502")
    assert (maryam.network, maryam.author_handle, maryam.author_followers) == ("x", "maryam", 15000)
    tag.refresh_from_db()
    assert tag.cursor == "1502"


def test_a_failing_source_keeps_its_error_and_does_not_stop_the_others(workspace: Workspace, replay) -> None:  # type: ignore[no-untyped-def]
    server = replay("mastodon/hashtag_timeline")
    Topic.objects.create(workspace=workspace, name="Yalda", query="یلدا")
    down = make_channel(workspace, "http://127.0.0.1:9", remote_id="2")  # nothing listens there
    broken = source(workspace, down, SourceKind.SEARCH, "یلدا")
    good_channel = make_channel(workspace, server.url, credentials=Credentials(access_token="tok-123"))
    good = source(workspace, good_channel, SourceKind.HASHTAG, "یلدا", cursor="110100")
    assert poll_listening_sources.call() == 2
    assert Job.objects.count() == 2
    assert poll_listening_source.call(source_id=broken.pk)["error"]
    assert poll_listening_source.call(source_id=good.pk)["stored"] == 2
    broken.refresh_from_db()
    assert broken.last_error and broken.cursor == "" and broken.last_polled_at is not None
    assert poll_listening_sources.call() == 0  # both just polled


def test_a_source_without_a_usable_channel_says_why(workspace: Workspace) -> None:
    channel = make_channel(workspace, "http://127.0.0.1:9", status="needs_reconnect")
    stale = source(workspace, channel, SourceKind.SEARCH, "shigi")
    assert "not active" in poll_source(stale).error
    rss_channel = make_channel(workspace, "http://127.0.0.1:9", network="rss", remote_id="3")
    no_search = source(workspace, rss_channel, SourceKind.SEARCH, "shigi")
    assert "offers no search" in poll_source(no_search).error


def test_sources_are_due_by_kind_and_claimed_once(workspace: Workspace) -> None:
    now = timezone.now()
    channel = make_channel(workspace, "http://127.0.0.1:9")
    feed = Source.objects.create(workspace=workspace, kind=SourceKind.FEED, name="f", target="https://n.example/rss")
    recent = source(workspace, channel, SourceKind.SEARCH, "a", last_polled_at=now - timedelta(minutes=2))
    chats = source(workspace, channel, SourceKind.CHATS, "", last_polled_at=now - timedelta(minutes=2))
    Source.objects.create(workspace=workspace, kind=SourceKind.IMPORT, name="file.csv")
    source(workspace, channel, SourceKind.SEARCH, "off", enabled=False)
    assert set(claim_due(now)) == {feed.pk, chats.pk}  # the search polled 2 minutes ago waits
    assert claim_due(now) == []
    assert recent.pk in claim_due(now + timedelta(minutes=4))
    assert "listening.sources" in {spec.name for spec in registered_schedules()}


def test_a_bots_chats_feed_listening_and_the_inbox_from_one_reader(workspace: Workspace, replay) -> None:  # type: ignore[no-untyped-def]
    server = replay("telegram/listening_chats")
    bot = make_channel(
        workspace,
        server.url,
        network="telegram",
        remote_id="-1001000000001",
        target="@acme",
        credentials=Credentials(access_token="123456:ABC-test"),
    )
    assert inbox_streams(bot) != []
    Topic.objects.create(workspace=workspace, name="Shigi", query="شیگی")
    chats = source(workspace, bot, SourceKind.CHATS, "")
    assert inbox_streams(bot) == []  # listening reads this bot's one update queue now
    outcome = poll_source(chats)
    assert outcome.error == ""
    stored = dict(Mention.objects.filter(workspace=workspace).values_list("remote_id", "author_name"))
    # Other channels and groups: yes; our own channel and the private chat: no.
    assert stored == {
        "-1003000000001:310": "اخبار فناوری",
        "-1004000000002:91": "Reza",
        "-1004000000002:92": "Mina",
        "-1005000000003:93": "Omid",
    }
    assert Mention.objects.get(remote_id="-1003000000001:310").url == "https://t.me/tech_news_fa/310"
    # The inbox got its share exactly as a push would give it: the mention of the bot and the DM.
    inbox = {m.remote_id: m.conversation.kind for m in Message.objects.filter(workspace=workspace)}
    assert inbox == {"-1004000000002:92": Kind.MENTION, "53:12": Kind.DM}
    chats.refresh_from_db()
    assert chats.cursor == "500007"
    assert poll_source(chats).error == ""  # the next poll asks from the offset, without getMe again


def test_a_second_chats_source_on_one_bot_is_told_and_webhook_bots_cannot_be_read(workspace: Workspace) -> None:
    bot = make_channel(workspace, "http://127.0.0.1:9", network="telegram", target="@acme")
    first = source(workspace, bot, SourceKind.CHATS, "")
    second = source(workspace, bot, SourceKind.CHATS, "@news")
    assert "already reads" in poll_source(second).error and first.name in poll_source(second).error
    bot.options = {"webhook_secret_hash": "0" * 64}
    bot.save(update_fields=["options"])
    assert "webhook" in poll_source(first).error
