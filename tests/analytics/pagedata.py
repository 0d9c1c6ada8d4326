"""Rows for the dashboard tests: published targets with snapshots, and daily follower counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sokhan.analytics.models import AccountDaily, PostSnapshot
from sokhan.channels.models import Channel
from sokhan.publishing import states as S
from sokhan.publishing.models import Post, PostTarget


def post(channel: Channel, at: datetime, *, text: str = "سلام", step: int = 2, **metrics: Any) -> PostTarget:
    """A target published at ``at`` with one snapshot at ``step`` (taken a day later) of ``metrics``."""
    p = Post.objects.create(workspace_id=channel.workspace_id, title=text[:20])
    target = PostTarget.objects.create(
        workspace_id=channel.workspace_id,
        post=p,
        channel=channel,
        text=text,
        state=S.PUBLISHED,
        remote_id=f"r{p.pk}",
        published_at=at,
        media=metrics.pop("media", []),
        thread=metrics.pop("thread", []),
        link=metrics.pop("link", ""),
    )
    if metrics:
        PostSnapshot.objects.create(
            workspace_id=channel.workspace_id,
            channel=channel,
            target=target,
            step=step,
            taken_at=at + timedelta(days=1),
            **metrics,
        )
    return target


def daily(channel: Channel, day: date, followers: int | None, **extra: Any) -> AccountDaily:
    return AccountDaily.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        day=day,
        followers=followers,
        samples=1,
        definition_version=1,
        **extra,
    )
