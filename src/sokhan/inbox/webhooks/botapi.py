"""Telegram and Bale push: the Bot API posts one ``Update`` per request to the URL given to
``setWebhook``, with the ``secret_token`` chosen then in ``X-Telegram-Bot-Api-Secret-Token``
(https://core.telegram.org/bots/api#setwebhook). Bale documents its Bot API as Telegram's.

Each channel has its own URL (``/api/v1/webhooks/<network>/<channel id>``) and secret; only the
secret's SHA-256 is stored (``Channel.options["webhook_secret_hash"]``). An update is read exactly as
polling reads it (the connector's own parsing in ``_botapi``): a comment in the channel's discussion
group, a mention of the bot or the channel elsewhere, and, here only, a private chat with the bot as a
direct message. ``update_id`` is the delivery key, so a redelivered update is stored once.

Note: while a webhook is set the Bot API refuses ``getUpdates``, so polling such a channel fails.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels.calls import call, connector_class
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.errors import DomainError
from sokhan.core.models import User
from sokhan.core.services import audit_record
from sokhan.inbox.models import Kind, Message
from sokhan.inbox.webhooks.common import (
    JSON,
    WebhookAck,
    WebhookError,
    already_received,
    integer,
    invalid,
    obj,
    parse_json,
    record_and_ingest,
)
from sokhan.networks.connectors._botapi import (
    BotApiConnector,
    Identity,
    mentions_us,
    message_ref,
    note_automatic_forward,
)
from sokhan.networks.errors import ConnectorError
from sokhan.networks.types import MessageKind, RemoteMessage

logger = logging.getLogger("sokhan.inbox.webhooks")

NETWORKS = ("telegram", "bale")
SECRET_OPTION = "webhook_secret_hash"  # noqa: S105 (an option's name; the value is a hash)
IDENTITY_OPTION = "webhook_identity"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
_CHAT_FIELDS = ("id", "type", "title", "username", "linked_chat_id")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def webhook_url(channel: Channel) -> str:
    """The absolute URL to give the network's ``setWebhook`` for this channel."""
    name = f"api:webhook_{channel.network}"
    return f"{settings.BASE_URL}{reverse(name, kwargs={'channel_id': channel.pk})}"


# ---------------------------------------------------------------------------------------------- identity


def _identity_json(identity: Identity) -> str:
    chat = {k: identity.chat[k] for k in _CHAT_FIELDS if k in identity.chat}
    return json.dumps({"bot_id": identity.bot_id, "bot_username": identity.bot_username, "chat": chat})


def stored_identity(channel: Channel) -> Identity:
    """Who the bot and the channel's chat are, as read when the secret was issued.

    Options are strings (``Account.options``), so the identity is kept as JSON. Without it (the
    network could not be reached then) the bot id comes from its token (``<bot id>:<secret>``) and the
    chat from the channel row: mentions by id still work, comments and @bot mentions do not."""
    raw = (channel.options or {}).get(IDENTITY_OPTION)
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
        if isinstance(data, dict) and isinstance(data.get("chat"), dict) and "id" in data["chat"]:
            username = str(data.get("bot_username") or "")
            return Identity(bot_id=int(data["bot_id"]), bot_username=username, chat=data["chat"])
    except (TypeError, ValueError, KeyError):
        pass
    head = channel.credentials.access_token.partition(":")[0]
    chat_id = channel.remote_id if channel.remote_id.lstrip("-").isdigit() else "0"
    return Identity(
        bot_id=int(head) if head.isdigit() else -1,  # -1: never a sender, so no false "reply to the bot"
        bot_username="",
        chat={"id": int(chat_id), "username": channel.handle},
    )


def _fetch_identity(channel: Channel) -> Identity | None:
    try:
        found = call(channel, "identity")
    except (ConnectorError, DomainError) as exc:
        logger.warning("could not read the bot identity of channel %s: %s", channel.pk, exc)
        return None
    return found if isinstance(found, Identity) else None


# ---------------------------------------------------------------------------------------------- secrets


def webhook_secret_issue(channel: Channel, *, actor: User | None = None) -> str:
    """A new random webhook secret for a Telegram or Bale channel; the previous one stops working.

    Stores only its SHA-256 (and the bot's identity, to read updates without calling the network),
    then, if the connector can register webhooks (``set_webhook(url, secret_token)``), points the
    bot at :func:`webhook_url`. Otherwise the caller shows the secret and URL to the admin, who calls
    ``setWebhook`` with them. The secret is returned once and never stored in plain."""
    if channel.network not in NETWORKS:
        raise DomainError(
            _("Only Telegram and Bale channels receive updates by webhook."), fields={"network": "unsupported"}
        )
    secret = secrets.token_urlsafe(32)  # 43 characters of A-Z a-z 0-9 _ -, as secret_token allows
    identity = _fetch_identity(channel)  # the network, outside the row lock
    with transaction.atomic():
        locked = Channel.objects.select_for_update().select_related("workspace").get(pk=channel.pk)
        options = dict(locked.options or {})
        options[SECRET_OPTION] = _hash(secret)
        if identity is not None:
            options[IDENTITY_OPTION] = _identity_json(identity)
        locked.options = options
        locked.save(update_fields=["options"])
        audit_record(
            workspace=locked.workspace,
            actor=actor,
            action="channel.webhook_secret",
            target=f"{locked.network}:{locked.handle or locked.remote_id}",
            data={"channel": locked.pk},
        )
    channel.options = options
    if callable(getattr(connector_class(channel.network), "set_webhook", None)):
        call(channel, "set_webhook", webhook_url(channel), secret)
    return secret


def _secret_ok(channel: Channel, given: str) -> bool:
    expected = (channel.options or {}).get(SECRET_OPTION)
    if not isinstance(expected, str) or not expected or not given:
        return False
    return hmac.compare_digest(_hash(given).encode(), expected.encode())


# ---------------------------------------------------------------------------------------------- reading


def _connector(channel: Channel) -> BotApiConnector:
    connector = connector_class(channel.network)(channel.account, channel.credentials)
    if not isinstance(connector, BotApiConnector):  # a third-party connector took the network's key
        raise WebhookError(404, "not_found", _("This channel does not receive Bot API updates."))
    connector._identity = stored_identity(channel)  # parse without asking the network who we are
    return connector


def _stored_comment_root(channel: Channel, remote_id: str) -> str:
    """The post a reply to an already stored comment belongs to (a reply to a reply carries no
    marker of the post; polling remembers it in its cursor, a webhook has the database)."""
    key = (
        Message.objects.filter(channel=channel, remote_id=remote_id, conversation__kind=Kind.COMMENT)
        .values_list("conversation__thread_key", flat=True)
        .first()
    )
    return key or ""


def update_messages(channel: Channel, update: JSON) -> list[RemoteMessage]:
    """What one Update holds for the inbox: [] for edits, channel posts, callbacks, our own posts."""
    if update.get("message") is None:
        return []
    message = obj(update["message"], "message")
    integer(message.get("message_id"), "message.message_id")
    chat = obj(message.get("chat"), "message.chat")
    chat_id = integer(chat.get("id"), "message.chat.id")
    connector = _connector(channel)
    try:
        return _read(channel, connector, message, chat, chat_id)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("unreadable %s update for channel %s: %r", channel.network, channel.pk, exc)
        raise invalid("message", _("could not be read")) from None


def _read(channel: Channel, connector: BotApiConnector, message: JSON, chat: JSON, chat_id: int) -> list[RemoteMessage]:
    ident = connector.identity()
    if chat.get("type") == "private":
        item = connector.to_remote(message, MessageKind.DM)
        return [replace(item, conversation_id=str(chat_id))]
    if chat_id == ident.chat_id:
        return []  # the channel itself: our own posts
    threads: dict[int, int] = {}
    if note_automatic_forward(message, ident, threads):
        return []  # our post copied into the discussion group
    root = connector.comment_root(message, ident, threads)
    reply = message.get("reply_to_message")
    linked = ident.chat.get("linked_chat_id")
    if not root and linked and chat_id == int(linked) and isinstance(reply, dict):
        root = _stored_comment_root(channel, message_ref(chat_id, reply["message_id"]))
    if root:
        item = connector.to_remote(message, MessageKind.COMMENT, root=root)
        url = connector.post_url(ident.chat, root)
        return [replace(item, url=f"{url}?comment={message['message_id']}" if url else "")]
    if mentions_us(message, ident):
        return [connector.to_remote(message, MessageKind.MENTION)]
    return []


def receive(network: str, channel_id: int, body: bytes, secret: str, *, now: datetime | None = None) -> WebhookAck:
    now = now or timezone.now()
    channel = Channel.objects.filter(pk=channel_id, network=network, status=ChannelStatus.ACTIVE).first()
    if channel is None:
        raise WebhookError(404, "not_found", _("No active %(network)s channel has this id.") % {"network": network})
    if not _secret_ok(channel, secret):
        raise WebhookError(
            401, "secret_invalid", _("The %(header)s header is missing or wrong for this channel.") % {"header": HEADER}
        )
    update = obj(parse_json(body), "body")
    update_id = integer(update.get("update_id"), "update_id")
    source, key = f"{network}:{channel.pk}", str(update_id)
    if already_received(source, key):
        return WebhookAck(status="duplicate")
    items = update_messages(channel, update)
    stored = record_and_ingest(source, key, [(channel, items)], channel=channel, now=now)
    if stored is None:
        return WebhookAck(status="duplicate")
    if not items:
        return WebhookAck(status="ignored")
    return WebhookAck(status="ok", stored=stored.stored, duplicates=stored.duplicates)
