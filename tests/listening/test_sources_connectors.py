"""Contract tests of the hashtag timelines listening reads, against recorded exchanges shaped like
the networks' documented APIs (Mastodon ``GET /api/v1/timelines/tag/:hashtag``, Bluesky
``app.bsky.feed.searchPosts`` with ``tag``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.networks.replay import Replay, ReplayServer, load
from tests.networks.test_bluesky import session_creds

from sokhan.networks import registry
from sokhan.networks.connectors.bluesky import BlueskyConnector
from sokhan.networks.connectors.mastodon import MastodonConnector
from sokhan.networks.types import Account, Capability, Credentials, MessageKind


@pytest.fixture
def recorded(request: pytest.FixtureRequest) -> Iterator[Replay]:
    with ReplayServer(load(request.param)) as replay:
        yield replay
    replay.verify()


@pytest.mark.parametrize("recorded", ["mastodon/hashtag_timeline"], indirect=True)
def test_mastodon_hashtag_timeline_reads_immediately_newer_statuses_oldest_first(recorded: Replay) -> None:
    connector = MastodonConnector(Account(base_url=recorded.url), Credentials(access_token="tok-123"), timeout=5)
    page = connector.hashtag_timeline("یلدا", cursor="110100")
    assert [m.remote_id for m in page.items] == ["110120", "110130"] and page.cursor == "110130"
    first = page.items[0]
    assert first.kind is MessageKind.POST and first.lang == "en" and first.author_followers == 7
    assert first.text == "Happy #یلدا everyone & family" and first.author_handle == "ali@other.example"
    assert connector.hashtag_timeline("#یلدا", cursor=page.cursor).items == ()  # a leading # is dropped
    assert connector.last_rate_limit is not None and connector.last_rate_limit.remaining == 298


@pytest.mark.parametrize("recorded", ["bluesky/hashtag_timeline"], indirect=True)
def test_bluesky_hashtag_timeline_filters_by_tag_and_skips_what_the_cursor_saw(recorded: Replay) -> None:
    connector = BlueskyConnector(Account(base_url=recorded.url), session_creds(), timeout=5)
    page = connector.hashtag_timeline("یلدا", cursor="2024-12-20T10:00:00.000Z")
    # ``since`` is inclusive: the post indexed at the cursor itself was seen by the previous poll.
    assert [m.text for m in page.items] == ["#یلدا و فال حافظ", "#یلدا مبارک، شب بلند با خانواده"]
    assert page.cursor == "2024-12-20T19:00:01.000Z" and page.items[0].lang == "fa"
    assert page.items[1].url.startswith("https://bsky.app/profile/reza.test/post/")


def test_hashtag_timelines_are_a_declared_capability() -> None:
    readers = {cls.key for cls in registry.all_connectors() if cls.has(Capability.HASHTAG)}
    assert readers == {"mastodon", "bluesky"}
