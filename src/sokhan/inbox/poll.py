"""Polling a channel's comments, mentions and direct messages from where the last poll stopped.

Each stream keeps a cursor (``Cursor``). The network is asked outside any transaction; the new
messages and the advanced cursor are then stored in one transaction, so a crash in between only
means the same page is fetched again next time (and deduplicated), never a gap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sokhan.channels.calls import call, connector_class
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import DomainError
from sokhan.inbox.ingest import ingest
from sokhan.inbox.models import Cursor, Stream
from sokhan.networks.errors import ConnectorError
from sokhan.networks.types import Capability, Page, RemoteMessage
from sokhan.publishing import states as S
from sokhan.publishing.models import PostTarget

logger = logging.getLogger("sokhan.inbox")

STREAMS = ((Stream.COMMENTS, Capability.COMMENTS), (Stream.MENTIONS, Capability.MENTIONS), (Stream.DMS, Capability.DMS))
COMMENT_POSTS = 50  # our most recent published posts whose comments a poll reads
COMMENT_DAYS = 30


def poll_seconds() -> int:
    return int(getattr(settings, "SOKHAN_INBOX_POLL_SECONDS", 60))


@dataclass
class PollResult:
    created: int = 0
    duplicates: int = 0
    errors: dict[str, str] = field(default_factory=dict)


# Bot API networks refuse getUpdates while a webhook is set: such a channel's updates come by push.
PUSHED_NETWORKS = frozenset({"telegram", "bale"})


def inbox_streams(channel: Channel) -> list[str]:
    """The streams this channel's connector can poll (none when the network pushes them to us, or
    when listening reads the bot's one update queue and hands the inbox its share)."""
    if channel.network in PUSHED_NETWORKS and (channel.options or {}).get("webhook_secret_hash"):
        return []
    if channel.network in PUSHED_NETWORKS and _listening_reads(channel):
        return []
    try:
        cls = connector_class(channel.network)
    except DomainError:
        return []
    return [stream for stream, capability in STREAMS if cls.has(capability)]


def _listening_reads(channel: Channel) -> bool:
    from sokhan.listening.sources.chats import reads_bot_updates  # imported late: listening uses the inbox

    return reads_bot_updates(channel)


def channels_to_poll() -> list[int]:
    ids = Channel.objects.filter(status=ChannelStatus.ACTIVE).values_list("pk", "network")
    return [pk for pk, network in ids if _has_inbox(network)]


def _has_inbox(network: str) -> bool:
    try:
        cls = connector_class(network)
    except DomainError:
        return False
    return any(cls.has(capability) for _, capability in STREAMS)


def recent_post_ids(channel: Channel, *, now: datetime) -> list[str]:
    """Remote ids of our recent published posts on the channel, newest first."""
    return list(
        PostTarget.objects.filter(
            channel=channel,
            state__in=[S.PUBLISHED, S.RESOLVED],
            published_at__gte=now - timedelta(days=COMMENT_DAYS),
        )
        .exclude(remote_id="")
        .order_by("-published_at")
        .values_list("remote_id", flat=True)[:COMMENT_POSTS]
    )


def poll_channel(channel: Channel, *, now: datetime | None = None) -> PollResult:
    """Fetch every stream of the channel once and store what is new."""
    now = now or timezone.now()
    result = PollResult()
    for stream in inbox_streams(channel):
        row, _ = Cursor.objects.get_or_create(
            channel=channel, stream=stream, defaults={"workspace_id": channel.workspace_id}
        )
        started_from = row.cursor
        try:
            page = _fetch(channel, stream, started_from, now=now)
        except ConnectorError as exc:
            Cursor.objects.filter(pk=row.pk).update(polled_at=now, ok=False, error=str(exc)[:2000])
            result.errors[stream] = str(exc)
            logger.warning("Inbox poll of channel %s (%s) failed: %s", channel.pk, stream, exc)
            continue
        with transaction.atomic():
            stored = ingest(channel, page.items, now=now)
            locked = Cursor.objects.select_for_update().get(pk=row.pk)
            # Another poll that finished first may have moved the cursor on; never move it back.
            if locked.cursor == started_from and page.cursor:
                locked.cursor = page.cursor
            locked.polled_at, locked.ok, locked.error = now, True, ""
            locked.save(update_fields=["cursor", "polled_at", "ok", "error"])
        result.created += len(stored.created)
        result.duplicates += stored.duplicates
    return result


def _fetch(channel: Channel, stream: str, cursor: str, *, now: datetime) -> Page[RemoteMessage]:
    if stream == Stream.COMMENTS:
        post_ids = recent_post_ids(channel, now=now)
        if not post_ids:
            return Page(items=(), cursor=cursor)
        page: Page[RemoteMessage] = call(channel, "fetch_comments", cursor, post_ids=post_ids)
        return page
    if stream == Stream.MENTIONS:
        page = call(channel, "fetch_mentions", cursor)
        return page
    page = call(channel, "fetch_dms", cursor)
    return page
