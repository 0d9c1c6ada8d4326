"""Analytics test helpers: published targets, and recorded exchanges composed from the connector
contract cassettes (tests/networks/cassettes), so collection runs through the real connectors
against documented response shapes."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from tests.networks.replay import Replay, load

from sokhan.channels.models import Channel
from sokhan.core.models import Workspace
from sokhan.networks.types import Credentials
from sokhan.ops.bench_sink import make_channel
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget

FACEBOOK_PAGE = "104086835489520"


def published(channel: Channel, remote_id: str, at: datetime, *, text: str = "سلام") -> PostTarget:
    """A target published on ``channel`` at ``at`` with ``remote_id`` (as the dispatcher leaves it)."""
    post = Post.objects.create(workspace_id=channel.workspace_id, title=text)
    return PostTarget.objects.create(
        workspace_id=channel.workspace_id,
        post=post,
        channel=channel,
        text=text,
        state=S.PUBLISHED,
        remote_id=remote_id,
        remote_url=f"https://mastodon.example/@sokhan/{remote_id}",
        published_at=at,
    )


def mastodon_channel(workspace: Workspace, url: str, **extra: Any) -> Channel:
    return make_channel(workspace, url, credentials=Credentials(access_token="tok-123"), **extra)


def facebook_channel(workspace: Workspace, url: str) -> Channel:
    return make_channel(
        workspace,
        f"{url}/v25.0",
        network="facebook",
        target=FACEBOOK_PAGE,
        remote_id=FACEBOOK_PAGE,
        credentials=Credentials(access_token="EAA-long", data={"page_access_token": "page-token"}),
    )


def _interactions(name: str) -> list[dict[str, Any]]:
    return copy.deepcopy(load(name).interactions)


def mastodon_account(followers: int = 120) -> dict[str, Any]:
    """GET verify_credentials, as recorded, with ``followers``."""
    [exchange] = _interactions("mastodon/account_metrics")
    exchange["response"]["json"]["followers_count"] = followers
    return exchange


def mastodon_status(status_id: str, *, likes: int, replies: int, reblogs: int) -> dict[str, Any]:
    """GET /api/v1/statuses/:id, as recorded, for another status and counts."""
    [exchange] = _interactions("mastodon/post_metrics")
    exchange["request"]["path"] = f"/api/v1/statuses/{status_id}"
    body = exchange["response"]["json"]
    body.update(id=status_id, favourites_count=likes, replies_count=replies, reblogs_count=reblogs)
    return exchange


def mastodon_gone(status_id: str) -> dict[str, Any]:
    """A deleted status: 404 with Mastodon's error body (https://docs.joinmastodon.org/methods/statuses/#get)."""
    return {
        "request": {"method": "GET", "path": f"/api/v1/statuses/{status_id}"},
        "response": {"status": 404, "json": {"error": "Record not found"}},
    }


def recorded(name: str, *parts: list[dict[str, Any]] | dict[str, Any]) -> Replay:
    """A replay of ``parts`` (exchanges or lists of them) in order."""
    interactions: list[dict[str, Any]] = []
    for part in parts:
        interactions.extend(part if isinstance(part, list) else [part])
    # Each part comes from a contract cassette, which cites the API reference page its shapes follow.
    return Replay(name=name, interactions=interactions)


def cassette(name: str) -> list[dict[str, Any]]:
    """The exchanges of a contract cassette, to compose."""
    return _interactions(name)
