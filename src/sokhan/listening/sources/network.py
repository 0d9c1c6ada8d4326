"""``search`` and ``hashtag`` sources: a connected channel's network search (Mastodon, Bluesky, X,
Threads) or hashtag timeline (Mastodon's ``/timelines/tag``, Bluesky's tag search), read with the
connector's own cursor. A hashtag on a network that can only search is searched for as ``#tag``.

A poll reads up to ``MAX_PAGES`` pages, each stored with its cursor before the next is asked for,
and stops at an empty page or a cursor that did not move.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from sokhan.channels.calls import call, connector_class
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.listening.ingest import IncomingItem
from sokhan.listening.models import Source, SourceKind
from sokhan.listening.sources import PollResult, SourceError, store_page
from sokhan.networks.types import Capability, Page, RemoteMessage

MAX_PAGES = 5


def source_channel(source: Source) -> Channel:
    """The source's channel, if it can be used now."""
    channel = source.channel
    if channel is None:
        raise SourceError(_("This source has no connected channel to read through."))
    if channel.status != ChannelStatus.ACTIVE:
        raise SourceError(
            _("The channel %(channel)s is not active (%(status)s); reconnect it to read this source.")
            % {"channel": channel.display_name or channel.network, "status": channel.get_status_display()}
        )
    return channel


def to_item(network: str, message: RemoteMessage) -> IncomingItem:
    return IncomingItem(
        network=network,
        remote_id=message.remote_id,
        text=message.text,
        published_at=message.created_at,
        url=message.url,
        author_handle=message.author_handle,
        author_name=message.author_name,
        author_followers=message.author_followers,
        language=message.lang,
        author_id=message.author_id,
        in_reply_to=message.in_reply_to,
        root_id=message.root_id,
    )


def fetch_page(source: Source, channel: Channel, cursor: str) -> Page[RemoteMessage]:
    cls = connector_class(channel.network)
    target = source.target.strip()
    if source.kind == SourceKind.HASHTAG:
        tag = target.lstrip("#")
        if cls.has(Capability.HASHTAG):
            page: Page[RemoteMessage] = call(channel, "hashtag_timeline", tag, cursor)
            return page
        if cls.has(Capability.SEARCH):
            page = call(channel, "search", f"#{tag}", cursor)
            return page
        raise SourceError(_("%(network)s can neither read hashtags nor search.") % {"network": cls.name})
    if not cls.has(Capability.SEARCH):
        raise SourceError(_("%(network)s offers no search.") % {"network": cls.name})
    page = call(channel, "search", target, cursor)
    return page


def poll_network(source: Source, now: datetime, outcome: PollResult) -> None:
    if not source.target.strip().lstrip("#"):
        raise SourceError(_("Nothing to look for: the source has no search terms or hashtag."))
    channel = source_channel(source)
    for _page in range(MAX_PAGES):
        started_from = source.cursor
        page = fetch_page(source, channel, started_from)
        items = [to_item(channel.network, message) for message in page.items]
        outcome.result.add(store_page(source, items, page.cursor, started_from, now=now))
        outcome.pages += 1
        if not page.items or not page.cursor or page.cursor == started_from:
            break
