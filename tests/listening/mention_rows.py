"""Rows for the listening page and insight tests, made directly (as ingest would store them):
topics, mentions with their topic links, and the hourly counts ingest keeps."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

from sokhan.core.models import Workspace
from sokhan.listening.models import HourlyCount, Mention, MentionTopic, Topic, TopicKind

_keys = itertools.count(1)


def topic(workspace: Workspace, name: str, query: str, kind: str = TopicKind.BRAND, **extra: object) -> Topic:
    return Topic.objects.create(workspace=workspace, name=name, kind=kind, query=query, **extra)


def mention(
    workspace: Workspace,
    text: str,
    at: datetime,
    topics: Sequence[Topic] = (),
    *,
    sentiment: str = "",
    corrected: str = "",
    language: str = "fa",
    network: str = "telegram",
    handle: str = "",
    name: str = "",
    followers: int | None = None,
    url: str = "",
    hourly: bool = True,
) -> Mention:
    """A mention linked to ``topics``; with ``hourly`` each topic's hour count goes up by one (by the
    model's label, as ingest counts)."""
    key = next(_keys)
    row = Mention.objects.create(
        workspace=workspace,
        dedupe_key=f"{network}:{key}",
        network=network,
        remote_id=str(key),
        url=url,
        author_handle=handle,
        author_name=name,
        author_followers=followers,
        language=language,
        text=text,
        published_at=at,
        sentiment=sentiment,
        corrected_sentiment=corrected,
    )
    for t in topics:
        MentionTopic.objects.create(mention=row, topic=t, published_at=at)
        if hourly:
            hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
            count, _new = HourlyCount.objects.get_or_create(topic=t, hour=hour)
            count.total += 1
            if sentiment in ("positive", "neutral", "negative"):
                setattr(count, sentiment, getattr(count, sentiment) + 1)
            count.save()
    return row
