"""Meta's push notifications for Facebook Pages and Instagram professional accounts.

A delivery is ``{"object": "page" | "instagram", "entry": [{"id", "time", "changes" | "messaging"}]}``
signed with ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>``
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started). Which app signed it is
not said, so every configured Meta app secret is tried; a workspace's own OAuth app may only speak
for that workspace's channels, the install-wide ones (environment) for every channel.

What becomes a message (anything else is acknowledged and ignored):

- Page ``feed`` change with ``item: comment`` and ``verb: add`` → a comment on ``post_id``;
- Instagram ``comments`` / ``live_comments`` → a comment on ``media.id``;
- Instagram ``mentions`` → a mention (Meta sends only the ids, no text);
- ``messaging[]`` events with a ``message`` that is not an echo of our own → a direct message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from sokhan.channels.models import Channel, ChannelStatus, OAuthApp
from sokhan.channels.oauth import env_name
from sokhan.inbox.webhooks.common import (
    JSON,
    WebhookAck,
    WebhookError,
    already_received,
    arr,
    epoch,
    ident,
    obj,
    parse_json,
    record_and_ingest,
    replay_window,
    setting,
    text,
)
from sokhan.networks.types import MessageKind, RemoteMessage

SOURCE = "meta"
NETWORKS = {"page": "facebook", "instagram": "instagram"}  # delivery ``object`` → channel network
VERIFY_TOKEN = "SOKHAN_META_WEBHOOK_VERIFY_TOKEN"  # noqa: S105 (a setting's name)
APP_SECRET = "SOKHAN_META_APP_SECRET"  # noqa: S105 (a setting's name)

logger = logging.getLogger("sokhan.inbox.webhooks")


# ---------------------------------------------------------------------------------------------- verification


def verify_subscription(mode: str, token: str, challenge: str) -> str:
    """The challenge to echo when Meta's subscription check carries our verify token."""
    configured = setting(VERIFY_TOKEN)
    if not configured:
        raise WebhookError(
            403,
            "not_configured",
            _("No verify token is configured: set %(name)s to the Verify Token of the Meta app.")
            % {"name": VERIFY_TOKEN},
        )
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), configured.encode()):
        raise WebhookError(403, "forbidden", _("The verify token does not match the one configured here."))
    if not challenge:
        raise WebhookError(400, "invalid_payload", _("hub.challenge is missing."), fields={"hub.challenge": "missing"})
    return challenge


# ---------------------------------------------------------------------------------------------- signature


@dataclass(frozen=True)
class Signer:
    """Whose secret signed a delivery: an install-wide app (any channel) and/or workspaces' own apps."""

    install_wide: bool
    workspaces: frozenset[int]

    def speaks_for(self, channel: Channel) -> bool:
        return self.install_wide or channel.workspace_id in self.workspaces


def app_secrets() -> list[tuple[str, int | None]]:
    """Every Meta app secret this install knows, with the workspace it belongs to (None: install-wide)."""
    found: list[tuple[str, int | None]] = []
    explicit = setting(APP_SECRET)
    if explicit:
        found.append((explicit, None))
    for network in NETWORKS.values():
        secret = os.environ.get(env_name(network, "CLIENT_SECRET"), "")
        if secret:
            found.append((secret, None))
    for app in OAuthApp.objects.filter(network__in=list(NETWORKS.values())).only("workspace_id", "client_secret"):
        if app.client_secret:
            found.append((app.client_secret, app.workspace_id))
    return found


def check_signature(body: bytes, header: str) -> Signer:
    if not header:
        raise WebhookError(401, "signature_missing", _("The X-Hub-Signature-256 header is missing."))
    scheme, _sep, digest = header.strip().partition("=")
    if scheme.lower() != "sha256" or not digest:
        raise WebhookError(401, "signature_invalid", _("The X-Hub-Signature-256 header must read sha256=<hex digest>."))
    secrets = app_secrets()
    if not secrets:
        raise WebhookError(
            401,
            "signature_invalid",
            _("No Meta app secret is configured, so the signature cannot be checked."),
        )
    given = digest.strip().lower().encode("utf-8", "replace")
    install_wide = False
    workspaces: set[int] = set()
    for secret, workspace in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(expected, given):
            if workspace is None:
                install_wide = True
            else:
                workspaces.add(workspace)
    if not install_wide and not workspaces:
        raise WebhookError(401, "signature_invalid", _("The signature does not match the body and the app secret."))
    return Signer(install_wide=install_wide, workspaces=frozenset(workspaces))


# ---------------------------------------------------------------------------------------------- parsing


@dataclass
class Entry:
    network: str
    account_id: str
    time: datetime
    items: list[RemoteMessage] = field(default_factory=list)


def parse_delivery(data: Any) -> tuple[str, list[Entry]]:
    """The delivery's ``object`` and its entries with the messages they carry (400 on a bad shape)."""
    body = obj(data, "body")
    kind = ident(body.get("object"), "object")
    network = NETWORKS.get(kind)
    if network is None:
        return kind, []  # a subscription we do not read (e.g. "user", "permissions")
    entries: list[Entry] = []
    for i, raw in enumerate(arr(body.get("entry"), "entry", required=True)):
        where = f"entry[{i}]"
        entry = obj(raw, where)
        parsed = Entry(
            network=network,
            account_id=ident(entry.get("id"), f"{where}.id"),
            time=epoch(entry.get("time"), f"{where}.time"),
        )
        for j, change in enumerate(arr(entry.get("changes"), f"{where}.changes")):
            item = _change(network, obj(change, f"{where}.changes[{j}]"), f"{where}.changes[{j}]", parsed.time)
            if item is not None:
                parsed.items.append(item)
        for j, event in enumerate(arr(entry.get("messaging"), f"{where}.messaging")):
            item = _dm(obj(event, f"{where}.messaging[{j}]"), f"{where}.messaging[{j}]")
            if item is not None:
                parsed.items.append(item)
        entries.append(parsed)
    return kind, entries


def _change(network: str, change: JSON, where: str, sent: datetime) -> RemoteMessage | None:
    name = change.get("field")
    if network == "facebook" and name == "feed":
        return _page_comment(obj(change.get("value"), f"{where}.value"), f"{where}.value")
    if network == "instagram" and name in ("comments", "live_comments"):
        return _ig_comment(obj(change.get("value"), f"{where}.value"), f"{where}.value", sent)
    if network == "instagram" and name == "mentions":
        return _ig_mention(obj(change.get("value"), f"{where}.value"), f"{where}.value", sent)
    return None


def _page_comment(value: JSON, where: str) -> RemoteMessage | None:
    """https://developers.facebook.com/docs/graph-api/webhooks/reference/page (``feed``)."""
    if value.get("item") != "comment" or value.get("verb") != "add":
        return None  # posts, reactions, edits and removals are not new messages
    post_id = ident(value.get("post_id"), f"{where}.post_id")
    author = obj(value.get("from") or {}, f"{where}.from")
    author_id = ident(author.get("id"), f"{where}.from.id", required=False)
    return RemoteMessage(
        remote_id=ident(value.get("comment_id"), f"{where}.comment_id"),
        kind=MessageKind.COMMENT,
        text=text(value.get("message"), f"{where}.message"),
        author_id=author_id,
        author_handle=author_id,  # as polling does: a Page-scoped user has no public handle
        author_name=text(author.get("name"), f"{where}.from.name"),
        created_at=epoch(value.get("created_time"), f"{where}.created_time"),
        in_reply_to=ident(value.get("parent_id"), f"{where}.parent_id", required=False) or post_id,
        root_id=post_id,
        raw=value,
    )


def _ig_comment(value: JSON, where: str, sent: datetime) -> RemoteMessage:
    """https://developers.facebook.com/docs/instagram-platform/webhooks/examples (comments)."""
    # Comments on albums may come without the media (Meta's documented limitation): thread by parent.
    media = obj(value.get("media") or {}, f"{where}.media")
    media_id = ident(media.get("id"), f"{where}.media.id", required=False)
    author = obj(value.get("from") or {}, f"{where}.from")
    return RemoteMessage(
        remote_id=ident(value.get("id"), f"{where}.id"),
        kind=MessageKind.COMMENT,
        text=text(value.get("text"), f"{where}.text"),
        author_id=ident(author.get("id"), f"{where}.from.id", required=False),
        author_handle=text(author.get("username"), f"{where}.from.username"),
        created_at=sent,  # the payload has no time of its own
        in_reply_to=ident(value.get("parent_id"), f"{where}.parent_id", required=False) or media_id,
        root_id=media_id,
        raw=value,
    )


def _ig_mention(value: JSON, where: str, sent: datetime) -> RemoteMessage:
    """``{"media_id", "comment_id"?}``: a mention in a caption (media only) or in a comment. The ids
    match what polling ``/tags`` reads, so the two sources store it once."""
    media_id = ident(value.get("media_id"), f"{where}.media_id")
    comment_id = ident(value.get("comment_id"), f"{where}.comment_id", required=False)
    return RemoteMessage(
        remote_id=comment_id or media_id,
        kind=MessageKind.MENTION,
        text="",
        author_id="",
        author_handle="",
        created_at=sent,
        root_id=media_id,
        raw=value,
    )


def _dm(event: JSON, where: str) -> RemoteMessage | None:
    """https://developers.facebook.com/docs/messenger-platform/webhooks (``messages``)."""
    if "message" not in event:
        return None  # deliveries, reads, reactions, postbacks
    message = obj(event.get("message"), f"{where}.message")
    if message.get("is_echo"):
        return None  # what the Page or account itself sent
    sender = ident(obj(event.get("sender"), f"{where}.sender").get("id"), f"{where}.sender.id")
    return RemoteMessage(
        remote_id=ident(message.get("mid"), f"{where}.message.mid"),
        kind=MessageKind.DM,
        text=text(message.get("text"), f"{where}.message.text"),
        author_id=sender,
        author_handle="",
        created_at=epoch(event.get("timestamp"), f"{where}.timestamp"),
        conversation_id=sender,
        raw=event,
    )


# ---------------------------------------------------------------------------------------------- receiving


def receive(body: bytes, signature: str, *, now: datetime | None = None) -> WebhookAck:
    now = now or timezone.now()
    signer = check_signature(body, signature)
    key = hashlib.sha256(body).hexdigest()
    if already_received(SOURCE, key):
        return WebhookAck(status="duplicate")
    kind, entries = parse_delivery(parse_json(body))
    if not entries:
        logger.info("meta webhook: nothing to read in a delivery for object %r", kind)
        return WebhookAck(status="ignored")
    newest = max(e.time for e in entries)
    if now - newest > replay_window():
        raise WebhookError(
            409,
            "stale_delivery",
            _("This delivery is from %(time)s, older than the replay window; it is not processed.")
            % {"time": newest.isoformat()},
        )
    batches: dict[int, tuple[Channel, list[RemoteMessage]]] = {}
    skipped = 0
    accounts: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for entry in entries:
        accounts[(entry.network, entry.account_id)].append(entry)
    for (network, account_id), group in accounts.items():
        channels = [
            c
            for c in Channel.objects.filter(network=network, remote_id=account_id, status=ChannelStatus.ACTIVE)
            if signer.speaks_for(c)
        ]
        if not channels:
            skipped += len(group)
            logger.warning("meta webhook: no active %s channel for account %s signed for; skipped", network, account_id)
            continue
        for channel in channels:
            batch = batches.setdefault(channel.pk, (channel, []))[1]
            for entry in group:
                batch.extend(entry.items)
    only = next(iter(batches.values()))[0] if len(batches) == 1 else None
    stored = record_and_ingest(SOURCE, key, list(batches.values()), channel=only, now=now)
    if stored is None:
        return WebhookAck(status="duplicate")
    return WebhookAck(status="ok", stored=stored.stored, duplicates=stored.duplicates, skipped=skipped)
