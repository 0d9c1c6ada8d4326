"""RSS/Atom auto-posting against a loopback server: only new items are posted, once, through the
template; conditional GET; errors stored and shown; the feeds pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from django.test import Client
from tests.automation.conftest import LoopbackServer

from sokhan.automation import feeds
from sokhan.automation.models import FeedItemSeen, FeedWatch
from sokhan.automation.tasks import poll_due_feeds, poll_feed
from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError
from sokhan.core.models import AuditEvent, Membership, Workspace
from sokhan.core.permissions import Role
from sokhan.publishing.models import Post, PostTarget
from sokhan.runtime.models import Job
from sokhan.runtime.schedules import registered_schedules

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)


def rss(items: list[tuple[str, str, str, datetime]], title: str = "خبرنامه سخن") -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{guid}</guid>"
        f"<description><![CDATA[<p>{t} — <b>خلاصه</b> می‌خوانید</p>]]></description>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for guid, t, link, when in items
    )
    head = '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0">'
    return f"{head}<channel><title>{title}</title>{body}</channel></rss>"


def atom(entries: list[tuple[str, str, str, datetime]]) -> str:
    body = "".join(
        f'<entry><id>{guid}</id><title>{t}</title><link href="{link}"/>'
        f"<updated>{when.isoformat()}</updated><summary>Summary of {t}</summary></entry>"
        for guid, t, link, when in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Atom news</title><id>urn:feed</id><updated>{NOW.isoformat()}</updated>{body}</feed>"
    )


def owner_of(workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(workspace=workspace, role=Role.OWNER)


def make_watch(workspace: Workspace, channel: Channel, url: str, **options: Any) -> FeedWatch:
    watch = feeds.watch_save(
        actor=owner_of(workspace),
        url=url,
        channel_ids=[channel.pk],
        template=options.pop("template", "{title}\n{link}"),
        mode=options.pop("mode", FeedWatch.DRAFT),
    )
    watch.created_at = NOW - timedelta(hours=1)  # the watch was added an hour ago
    watch.save(update_fields=["created_at"])
    return watch


OLD1 = ("urn:1", "خبر قدیمی", "https://news.example/1", NOW - timedelta(hours=5))
OLD2 = ("urn:2", "خبر دیروز", "https://news.example/2", NOW - timedelta(days=1))
NEW3 = ("urn:3", "خبر تازه", "https://news.example/3", NOW - timedelta(minutes=20))
NEW4 = ("urn:4", "خبر تازه‌تر", "https://news.example/4", NOW - timedelta(minutes=5))


def test_persian_rss_first_poll_posts_only_new_items_then_nothing_twice(
    workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    url = loopback.serve("/fa.xml", rss([NEW3, OLD1, OLD2]), content_type="application/rss+xml; charset=utf-8")
    watch = make_watch(workspace, mastodon, url, template="📰 {title}\n{summary}\n{link}")
    result = feeds.poll_watch(watch)
    assert (result.status, result.created, result.skipped) == ("ok", 1, 2)
    target = PostTarget.objects.get()
    assert target.text == "📰 خبر تازه\nخبر تازه — خلاصه می\u200cخوانید\nhttps://news.example/3"
    assert target.state == "draft" and Post.objects.get().title == "خبر تازه"
    watch.refresh_from_db()
    assert watch.feed_title == "خبرنامه سخن" and watch.last_error == "" and watch.posts_created == 1
    # The same feed again, and again reordered with a new item: only the new item is posted.
    assert feeds.poll_watch(watch).created == 0
    loopback.serve("/fa.xml", rss([OLD2, NEW4, OLD1, NEW3]))
    assert feeds.poll_watch(watch).created == 1
    assert sorted(PostTarget.objects.values_list("text", flat=True)) == sorted(
        [target.text, "📰 خبر تازه‌تر\nخبر تازه‌تر — خلاصه می\u200cخوانید\nhttps://news.example/4"]
    )
    assert FeedItemSeen.objects.filter(watch=watch).count() == 4


def test_an_item_whose_guid_changed_is_recognised_by_its_link(
    workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    url = loopback.serve("/a.xml", rss([NEW3]))
    watch = make_watch(workspace, mastodon, url)
    assert feeds.poll_watch(watch).created == 1
    loopback.serve("/a.xml", rss([("urn:other-id", NEW3[1], NEW3[2], NEW3[3])]))
    assert feeds.poll_watch(watch).created == 0
    assert Post.objects.count() == 1


def test_conditional_get_and_304(workspace: Workspace, mastodon: Channel, loopback: LoopbackServer) -> None:
    url = loopback.serve("/etag.xml", rss([NEW3]), etag='"v1"')
    watch = make_watch(workspace, mastodon, url)
    assert feeds.poll_watch(watch).created == 1
    watch.refresh_from_db()
    assert watch.etag == '"v1"'
    result = feeds.poll_watch(watch)
    assert result.status == "not_modified"
    assert loopback.requests[-1][1].get("if-none-match") == '"v1"'
    assert Post.objects.count() == 1


def test_atom_feed_scheduled_right_away(workspace: Workspace, mastodon: Channel, loopback: LoopbackServer) -> None:
    url = loopback.serve("/atom.xml", atom([NEW3, NEW4, OLD1]), content_type="application/atom+xml")
    watch = make_watch(workspace, mastodon, url, mode=FeedWatch.SCHEDULE, template="{feed_title}: {title} {link}")
    assert feeds.poll_watch(watch).created == 2
    texts = list(PostTarget.objects.order_by("pk").values_list("text", "state"))
    assert texts == [
        ("Atom news: خبر تازه https://news.example/3", "scheduled"),
        ("Atom news: خبر تازه‌تر https://news.example/4", "scheduled"),
    ]


def test_queue_without_posting_times_keeps_a_draft_and_says_why(
    workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    url = loopback.serve("/q.xml", rss([NEW3]))
    watch = make_watch(workspace, mastodon, url, mode=FeedWatch.QUEUE)
    assert feeds.poll_watch(watch).created == 1
    assert PostTarget.objects.get().state == "draft"
    watch.refresh_from_db()
    assert "Kept as a draft" in watch.last_error and "posting times" in watch.last_error


def test_long_summary_is_shortened_to_fit(workspace: Workspace, x_channel: Channel, loopback: LoopbackServer) -> None:
    long_item = ("urn:long", "Long", "https://news.example/long", NOW - timedelta(minutes=1))
    body = rss([long_item]).replace("— <b>خلاصه</b> می‌خوانید", "word " * 200)
    url = loopback.serve("/long.xml", body)
    watch = make_watch(workspace, x_channel, url, template="{title}: {summary}")
    assert feeds.poll_watch(watch).created == 1
    text = PostTarget.objects.get().text
    assert text.startswith("Long: Long word word") and text.endswith("…") and len(text) <= 280


def test_broken_feed_stores_the_error_and_the_page_shows_it(
    owner_client: Client, workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    url = loopback.serve("/broken.xml", "<html><body>not a feed", content_type="text/html")
    watch = make_watch(workspace, mastodon, url)
    gone = make_watch(workspace, mastodon, loopback.base + "/missing.xml")
    assert feeds.poll_watch(watch).status == "error"
    poll_feed.call(watch_id=gone.pk)  # the job never raises
    watch.refresh_from_db()
    gone.refresh_from_db()
    assert "not" in watch.last_error and "RSS" in watch.last_error
    assert gone.last_error == "The server answered HTTP 404."
    html = owner_client.get("/w/acme/feeds/").content.decode()
    assert "The server answered HTTP 404." in html and "Problem:" in html


def test_private_addresses_are_refused_unless_allowed(workspace: Workspace, mastodon: Channel, settings: Any) -> None:
    settings.AUTOMATION_FETCH_ALLOW_PRIVATE = False
    with pytest.raises(DomainError) as caught:
        make_watch(workspace, mastodon, "http://127.0.0.1:8000/feed.xml")
    assert "inside this server's network" in caught.value.message
    with pytest.raises(DomainError):
        make_watch(workspace, mastodon, "file:///etc/passwd")


def test_job_enqueues_due_feeds_and_is_registered(
    workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    spec = {s.name: s for s in registered_schedules()}["automation.feeds"]
    assert spec.cron == "*/10 * * * *"
    url = loopback.serve("/j.xml", rss([NEW3]))
    watch = make_watch(workspace, mastodon, url)
    paused = make_watch(workspace, mastodon, url)
    paused.active = False
    paused.save()
    assert poll_due_feeds.call() == 1
    assert Job.objects.count() == 1
    assert poll_feed.call(watch_id=watch.pk)["created"] == 1
    assert poll_due_feeds.call() == 0  # just polled


def test_pages_add_preview_check_pause_delete(
    owner_client: Client, workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    url = loopback.serve("/p.xml", rss([NEW4, OLD1]))
    response = owner_client.post(
        "/w/acme/feeds/",
        {"name": "Blog", "url": url, "channels": [mastodon.pk], "template": "{title} → {link}", "mode": "draft"},
    )
    assert response.status_code == 302, response.content.decode()
    watch = FeedWatch.objects.get()
    preview = owner_client.get(f"/w/acme/feeds/{watch.pk}/?preview=1").content.decode()
    assert "خبر تازه‌تر → https://news.example/4" in preview
    # The new item is older than the watch: nothing is posted on the first check.
    owner_client.post(f"/w/acme/feeds/{watch.pk}/check/")
    assert Post.objects.count() == 0 and FeedItemSeen.objects.count() == 2
    owner_client.post(f"/w/acme/feeds/{watch.pk}/toggle/")
    watch.refresh_from_db()
    assert not watch.active
    assert "Paused" in owner_client.get("/w/acme/feeds/").content.decode()
    owner_client.post(f"/w/acme/feeds/{watch.pk}/delete/")
    assert not FeedWatch.objects.exists()
    actions = set(AuditEvent.objects.filter(action__startswith="feed.").values_list("action", flat=True))
    assert actions == {"feed.create", "feed.pause", "feed.delete"}


def test_at_most_ten_posts_per_poll_and_the_rest_next_time(
    workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    items = [
        (f"urn:n{i}", f"item {i}", f"https://news.example/n{i}", NOW - timedelta(minutes=50 - i)) for i in range(12)
    ]
    url = loopback.serve("/many.xml", rss(items), etag='"same"')
    watch = make_watch(workspace, mastodon, url)
    assert feeds.poll_watch(watch).created == feeds.MAX_POSTS_PER_POLL
    watch.refresh_from_db()
    assert watch.etag == ""  # items are waiting: the next poll must not get a 304
    assert feeds.poll_watch(watch).created == 2
    titles = list(Post.objects.order_by("pk").values_list("title", flat=True))
    assert titles == [f"item {i}" for i in range(12)]  # oldest first


def test_changing_the_address_does_not_flood_with_the_new_feeds_items(
    workspace: Workspace, mastodon: Channel, loopback: LoopbackServer
) -> None:
    first = loopback.serve("/one.xml", rss([NEW3]))
    watch = make_watch(workspace, mastodon, first)
    assert feeds.poll_watch(watch).created == 1
    other = loopback.serve("/two.xml", rss([("urn:x", "older news elsewhere", "https://other.example/x", NOW)]))
    watch = feeds.watch_save(
        actor=owner_of(workspace), url=other, channel_ids=[mastodon.pk], template="{title}", mode="draft",
        watch_id=watch.pk,
    )  # fmt: skip
    result = feeds.poll_watch(watch)
    assert (result.created, result.skipped) == (0, 1)
