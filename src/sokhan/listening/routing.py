"""New mentions that need a person go to the inbox, through the inbox's own ``ingest`` (so they
thread and deduplicate there like any polled mention):

* mentions of a topic with ``route_to_inbox`` — at **high** priority;
* every new matching mention while the workspace has an open incident — at **urgent** priority.

The inbox answers from a channel, so only a mention that came in through a connected channel (a
search, hashtag or chats source) is routed, to that channel: the remote id is the one that
channel's network gave (Mastodon ids are only valid on the instance that returned them), so a reply
from the inbox works. Feeds and imports have no channel to answer from and stay in listening.
Mentions published more than ``ROUTE_MAX_AGE`` ago (an old post found by a first poll) are not
routed either: the inbox is for what can still be answered.

A routed mention the inbox already had (it polled the same mention) keeps its conversation; the
conversation's priority is only ever raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.inbox.ingest import ingest as inbox_ingest
from sokhan.inbox.models import PRIORITY_ORDER, Conversation, Message, Priority
from sokhan.inbox.workflow import conversation_set_priority
from sokhan.networks.types import MessageKind, RemoteMessage

ROUTE_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Routable:
    remote_id: str
    text: str
    author_id: str
    author_handle: str
    author_name: str
    author_followers: int | None
    published_at: datetime
    url: str
    language: str
    in_reply_to: str
    root_id: str
    urgent: bool  # an incident is open


def route(channel: Channel | None, mentions: Sequence[Routable], *, now: datetime) -> int:
    """Hand ``mentions`` (new, of ``channel``'s network) to the inbox; how many it now holds."""
    if channel is None or channel.status != ChannelStatus.ACTIVE:
        return 0
    recent = [m for m in mentions if m.remote_id and now - m.published_at <= ROUTE_MAX_AGE]
    if not recent:
        return 0
    inbox_ingest(channel, [_remote(m) for m in recent], now=now)
    wanted: dict[str, str] = {m.remote_id: Priority.URGENT if m.urgent else Priority.HIGH for m in recent}
    held = Message.objects.filter(channel=channel, remote_id__in=list(wanted)).values_list("remote_id", "conversation")
    raise_to: dict[int, str] = {}
    for remote_id, conversation_id in held:
        priority = wanted[remote_id]
        if PRIORITY_ORDER[Priority(priority)] > PRIORITY_ORDER[Priority(raise_to.get(conversation_id, Priority.LOW))]:
            raise_to[conversation_id] = priority
    chosen = Conversation.objects.filter(workspace_id=channel.workspace_id, pk__in=list(raise_to))
    for conversation in chosen.select_related("workspace"):
        priority = raise_to[conversation.pk]
        if PRIORITY_ORDER[Priority(conversation.priority)] < PRIORITY_ORDER[Priority(priority)]:
            conversation_set_priority(conversation, priority, actor=None)
    return len({remote_id for remote_id, _ in held})


def _remote(mention: Routable) -> RemoteMessage:
    return RemoteMessage(
        remote_id=mention.remote_id,
        kind=MessageKind.MENTION,
        text=mention.text,
        author_id=mention.author_id,
        author_handle=mention.author_handle,
        author_name=mention.author_name,
        author_followers=mention.author_followers,
        created_at=mention.published_at,
        in_reply_to=mention.in_reply_to,
        root_id=mention.root_id,
        url=mention.url,
        lang=mention.language,
    )
