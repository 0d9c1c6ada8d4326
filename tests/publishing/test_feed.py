"""The outbound feed: a feed channel's published posts, read back by a real feed parser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest
from django.test import Client

from sokhan.channels.services import channel_connect
from sokhan.core.models import Membership, User, Workspace
from sokhan.publishing import services
from sokhan.publishing.feeds import feed_token, feed_urls
from sokhan.publishing.models import PostTarget
from sokhan.runtime import engine
from sokhan.runtime.worker import Worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed_setup(owner: User, workspace: Workspace) -> tuple[Membership, Any]:
    actor = Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)
    connected = channel_connect(
        actor=actor, network="rss", values={"target": "اخبار کافه", "base_url": "https://acme.example"}
    )
    return actor, connected.channel


def publish(actor: Membership, channel: Any, text: str, **variant: str) -> PostTarget:
    post = services.post_create(
        actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text=text, **variant)]
    )
    services.post_schedule(actor=actor, post_id=post.pk, at=datetime.now(UTC))
    machine = next(m for m in engine.machines() if m.model is PostTarget)
    Worker(worker_id="t", lease_seconds=30, poll_seconds=0, machines=[machine]).run_once()
    return PostTarget.objects.get(post=post)


def test_published_posts_appear_in_both_feeds(feed_setup: tuple[Membership, Any]) -> None:
    actor, channel = feed_setup
    first = publish(actor, channel, "سلام دنیا\nاین نخستین پست است & <b>نه HTML</b>")
    second = publish(actor, channel, "Second post", link="https://acme.example/p/2")
    assert first.state == second.state == "published"
    client = Client()
    for kind, url in feed_urls(channel).items():
        response = client.get(url.split("127.0.0.1:8000", 1)[-1])
        assert response.status_code == 200, kind
        parsed = feedparser.parse(response.content)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.feed.title == "اخبار کافه"
        titles = [entry.title for entry in parsed.entries]
        assert titles == ["Second post", "سلام دنیا"]
        assert parsed.entries[0].link == "https://acme.example/p/2"
        assert "&lt;b&gt;" in parsed.entries[1].summary  # typed markup is shown, never rendered
        ids = {entry.id for entry in parsed.entries}
        assert ids == {f"urn:sokhan:{first.idempotency_key}", f"urn:sokhan:{second.idempotency_key}"}


def test_feed_address_cannot_be_guessed_or_used_after_disconnect(feed_setup: tuple[Membership, Any]) -> None:
    _, channel = feed_setup
    client = Client()
    assert client.get(f"/feeds/{channel.pk}/rss.xml").status_code == 404
    assert client.get(f"/feeds/{feed_token(channel)}x/rss.xml").status_code == 404
    assert client.get(f"/feeds/{feed_token(channel)}/atom.xml").status_code == 200
    channel.status = "disconnected"
    channel.save()
    assert client.get(f"/feeds/{feed_token(channel)}/atom.xml").status_code == 404


def test_channel_page_shows_the_feed_addresses(feed_setup: tuple[Membership, Any], owner: User) -> None:
    _, channel = feed_setup
    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/acme/channels/{channel.pk}/").content.decode()
    assert feed_urls(channel)["atom"] in page and feed_urls(channel)["rss"] in page
