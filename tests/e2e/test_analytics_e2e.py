"""Analytics end to end against a real local Bluesky network: a brand's channel is connected through
Sokhan, its post is collected at the 1 h step, someone likes and answers it on the server, and the
6 h step's snapshot has the new counts (``app.bsky.feed.getPosts``), with what Bluesky does not
give (saves, clicks, views, reach, impressions) stored as missing, not zero.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from tests.e2e.conftest import PDS
from tests.e2e.helpers import new_bluesky_account
from tests.e2e.servers.harness import eventually

from sokhan.analytics.collect import collect_channel, plan
from sokhan.analytics.models import AccountSnapshot, PostCollection, PostSnapshot
from sokhan.channels.services import Connected, channel_connect
from sokhan.core.errors import DomainError
from sokhan.core.models import Membership, User
from sokhan.core.services import workspace_create
from sokhan.networks.types import MessageKind, PublishRequest, RemoteMessage
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget

pytestmark = pytest.mark.e2e


def test_snapshots_follow_a_like_on_the_server(db: None, bluesky_server: str) -> None:
    owner = User.objects.create_user("maryam@example.com", "pw-maryam-123456", language="fa")
    workspace = workspace_create(owner=owner, name="قهوه‌ی آکمه", slug="acme", timezone_name="Asia/Tehran")
    actor = Membership.objects.select_related("workspace", "user").get(user=owner)
    brand = new_bluesky_account(bluesky_server, "brand")
    fan = new_bluesky_account(bluesky_server, "fan")

    def connect() -> Connected | None:
        try:
            values = {"username": brand.credentials.username, "password": brand.credentials.password, "base_url": PDS}
            return channel_connect(actor=actor, network="bluesky", values=values)
        except DomainError as exc:
            assert "Profile not found" in exc.message, exc.message  # the app view indexes new accounts later
            return None

    connected = eventually(connect, "the brand's profile to be indexed", seconds=90, every=2)
    assert connected is not None
    channel = connected.channel

    # The post, published as the dispatcher leaves a target.
    run = uuid.uuid4().hex[:6]
    result = brand.publish(PublishRequest(text=f"دمی تازه ☕ {run}", idempotency_key=f"an-{run}"))
    eventually(lambda: brand._posts([result.remote_id]), "the post in the app view")
    published_at = timezone.now()
    target = PostTarget.objects.create(
        workspace=workspace,
        post=Post.objects.create(workspace=workspace),
        channel=channel,
        text=f"دمی تازه ☕ {run}",
        state=S.PUBLISHED,
        remote_id=result.remote_id,
        published_at=published_at,
    )

    # The 1 h step: no likes yet.
    first = published_at + timedelta(hours=1, minutes=1)
    assert channel.pk in plan(first)
    collected = collect_channel(channel, now=first)
    assert (collected.account, collected.posts, collected.error) == (True, 1, "")
    account = AccountSnapshot.objects.get(channel=channel)
    assert account.posts is not None and account.posts >= 1 and account.followers == 0
    assert (account.reach, account.impressions, account.views) == (None, None, None)

    # Someone likes and answers the post on the server.
    fan.like(result.remote_id)
    subject = RemoteMessage(
        remote_id=result.remote_id,
        kind=MessageKind.POST,
        text="",
        author_id=channel.remote_id,
        author_handle=channel.handle,
        created_at=published_at,
    )
    fan.reply(subject, f"به به! {run}", idempotency_key=f"an-r-{run}")
    eventually(
        lambda: (
            (brand.post_metrics([result.remote_id])[0].likes, brand.post_metrics([result.remote_id])[0].comments)
            == (1, 1)
        ),
        "the like and the reply counted by the app view",
    )

    # The 6 h step sees them.
    second = published_at + timedelta(hours=6, minutes=1)
    assert channel.pk in plan(second)
    assert collect_channel(channel, now=second).posts == 1
    rows = list(
        PostSnapshot.objects.filter(target=target)
        .order_by("step")
        .values_list("step", "likes", "comments", "shares", "saves", "clicks", "views", "reach", "impressions")
    )
    assert rows == [
        (0, 0, 0, 0, None, None, None, None, None),
        (1, 1, 1, 0, None, None, None, None, None),
    ]
    assert PostCollection.objects.get(target=target).step == 2
