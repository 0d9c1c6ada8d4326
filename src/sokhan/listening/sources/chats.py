"""``chats`` sources: the posts of the channels and groups a Telegram or Bale bot is in
(``channel_post`` and ``message`` updates of ``getUpdates``).

One reader per bot. The Bot API keeps ONE update queue per bot and ``getUpdates`` with an offset
deletes everything below it, so two readers would steal each other's updates. While a channel has
an enabled chats source, **this module reads that bot's queue and the inbox does not poll it**
(``sokhan.inbox.poll.inbox_streams`` asks :func:`reads_bot_updates`). Every update read is handed
to both: the inbox gets its comments, mentions and direct messages exactly as if the update had
been pushed to its webhook (``sokhan.inbox.webhooks.botapi.update_messages``, with the bot's
identity stored on the channel the same way), and listening gets the chat posts. Both are stored
in the transaction that moves the cursor, so neither loses an update. A channel whose updates come
by webhook cannot be read this way (the Bot API refuses ``getUpdates`` then); the source says so.

Left to the inbox, not listening: private chats with the bot, the channel's own posts and its
discussion group (comments on our posts). ``Source.target`` may narrow the chats read: chat ids or
``@usernames`` separated by spaces or commas (empty: every chat the bot is in).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from sokhan.channels.calls import build_connector, call, connector_class
from sokhan.channels.models import Channel
from sokhan.core.errors import DomainError
from sokhan.inbox.ingest import ingest as inbox_ingest
from sokhan.inbox.webhooks.botapi import IDENTITY_OPTION, SECRET_OPTION, _identity_json, update_messages
from sokhan.inbox.webhooks.common import WebhookError
from sokhan.listening.ingest import IncomingItem
from sokhan.listening.models import Source, SourceKind
from sokhan.listening.sources import PollResult, SourceError, store_page
from sokhan.listening.sources.network import source_channel
from sokhan.networks.connectors._botapi import BotApiConnector, Cursor, Identity
from sokhan.networks.types import MessageKind, RemoteMessage

JSON = dict[str, Any]


def reads_bot_updates(channel: Channel) -> bool:
    """Whether listening reads this bot channel's updates (then the inbox must not poll it)."""
    return Source.objects.filter(channel=channel, kind=SourceKind.CHATS, enabled=True).exists()


def reader_of(channel: Channel) -> Source | None:
    """The one chats source that reads the bot's queue: the oldest enabled one."""
    return Source.objects.filter(channel=channel, kind=SourceKind.CHATS, enabled=True).order_by("pk").first()


def chats_supported(network: str) -> bool:
    """Whether a network's bot can read the chats it is in (a Telegram-shaped Bot API)."""
    try:
        return issubclass(connector_class(network), BotApiConnector)
    except DomainError:  # an unknown network cannot
        return False


def wanted_chats(target: str) -> frozenset[str]:
    return frozenset(part.lower() for part in target.replace(",", " ").split())


def _identity(channel: Channel, *, refresh: bool) -> Identity:
    """Who the bot and its channel are, stored on the channel as the inbox's webhook stores it, so
    the inbox reads the updates handed to it as it would read a push."""
    raw = (channel.options or {}).get(IDENTITY_OPTION)
    if raw and not refresh:
        data = json.loads(raw)
        return Identity(bot_id=int(data["bot_id"]), bot_username=str(data.get("bot_username") or ""), chat=data["chat"])
    found = call(channel, "identity")
    assert isinstance(found, Identity)
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        locked.options = {**(locked.options or {}), IDENTITY_OPTION: _identity_json(found)}
        locked.save(update_fields=["options"])
    channel.options = locked.options
    return found


def chat_posts(
    connector: BotApiConnector, updates: Iterable[JSON], ident: Identity, wanted: frozenset[str]
) -> list[IncomingItem]:
    """The posts of other channels and groups in ``updates``, as listening items."""
    linked = ident.chat.get("linked_chat_id")
    items: list[IncomingItem] = []
    for update in updates:
        message = update.get("channel_post") or update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
            continue
        chat = message["chat"]
        chat_id = chat.get("id")
        if chat.get("type") == "private" or chat_id in (ident.chat_id, linked):
            continue
        username = f"@{str(chat.get('username') or '').lower()}"
        if wanted and str(chat_id) not in wanted and username not in wanted:
            continue
        remote: RemoteMessage = connector.to_remote(message, MessageKind.POST)
        if not remote.text.strip():
            continue  # a photo without a caption: nothing to match
        items.append(
            IncomingItem(
                network=connector.key,
                remote_id=remote.remote_id,
                text=remote.text,
                published_at=remote.created_at,
                url=remote.url,
                author_handle=remote.author_handle or str(chat.get("username") or ""),
                author_name=remote.author_name or str(chat.get("title") or ""),
                author_id=remote.author_id,
                in_reply_to=remote.in_reply_to,
            )
        )
    return items


def inbox_share(channel: Channel, updates: Iterable[JSON]) -> list[RemoteMessage]:
    found: list[RemoteMessage] = []
    for update in updates:
        try:
            found += update_messages(channel, update)
        except WebhookError:
            continue  # unreadable for the inbox; a push would have been refused the same way
    return found


def poll_chats(source: Source, now: datetime, outcome: PollResult) -> None:
    channel = source_channel(source)
    if not chats_supported(channel.network):
        raise SourceError(_("This network's bot cannot read the chats it is in."))
    if (channel.options or {}).get(SECRET_OPTION):
        raise SourceError(
            _("This bot's updates are pushed to the inbox by webhook, so they cannot be read here as well.")
        )
    reader = reader_of(channel)
    if reader is not None and reader.pk != source.pk:
        raise SourceError(
            _("The source “%(name)s” already reads this bot's chats; a bot has one update queue.")
            % {"name": reader.name}
        )
    ident = _identity(channel, refresh=not source.cursor)
    started_from = source.cursor
    updates, state = call(channel, "poll", Cursor.parse(started_from))
    connector = build_connector(channel)
    assert isinstance(connector, BotApiConnector)
    items = chat_posts(connector, updates, ident, wanted_chats(source.target))
    for_inbox = inbox_share(channel, updates)
    # The cursor keeps the offset only: the inbox threads replies from its stored messages here.
    cursor = str(state.offset) if state.offset else started_from

    def deliver() -> None:
        if for_inbox:
            inbox_ingest(channel, for_inbox, now=now)

    outcome.result.add(store_page(source, items, cursor, started_from, now=now, also=deliver))
    outcome.pages += 1
