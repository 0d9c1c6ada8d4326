"""Telegram channels through the Bot API (https://core.telegram.org/bots/api).

The bot is an administrator of the channel (``Account.target``: ``@username`` or the numeric id).
Comments are the replies in the channel's linked discussion group: ``getChat`` gives
``linked_chat_id``; each channel post arrives there as an automatic forward
(``is_automatic_forward``, ``forward_origin`` = our channel post), and a group message whose reply
chain reaches that forward is a comment on the post. The Bot API reports no post views, so post
metrics are not declared. It has no idempotency key either: a timeout after a send raises
:class:`OutcomeUnknown` and the dispatcher reconciles before retrying.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sokhan.networks.connectors._botapi import (
    JSON,
    BotApiConnector,
    Cursor,
    Identity,
    MessageRef,
    forwarded_post,
    note_automatic_forward,
)
from sokhan.networks.registry import register
from sokhan.networks.types import (
    Capability,
    Limits,
    MediaLimits,
    MessageKind,
    Page,
    RemoteMessage,
    TextCounting,
)

MB = 1_000_000


@register
class TelegramConnector(BotApiConnector):
    key = "telegram"
    name = "Telegram"
    docs_url = "https://core.telegram.org/bots/api"
    default_base_url = "https://api.telegram.org"
    link_host = "https://t.me"
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_REPLY,
            Capability.DELETE,
            Capability.COMMENTS,
            Capability.MENTIONS,
            Capability.REPLY,
            Capability.REPLY_MEDIA,
            Capability.SEND_DM,
            Capability.DM_MEDIA,
            Capability.HIDE,
            Capability.ACCOUNT_METRICS,
        }
    )
    limits = Limits(
        max_text=4096,
        counting=TextCounting.UTF16,
        media=MediaLimits(
            max_count=10,
            image_types=("image/jpeg", "image/png", "image/webp"),
            video_types=("video/mp4",),
            max_image_bytes=10 * MB,
            max_video_bytes=50 * MB,
            aspect_ratio=(1 / 20, 20.0),
            mixed_types=True,
        ),
        max_comment_text=4096,
        notes=(
            "Text: 1-4096 characters after entity parsing, counted in UTF-16 code units (an emoji outside "
            "the BMP counts 2; Persian letters and ZWNJ count 1). Captions: 0-1024. Photos: at most 10 MB, "
            "width + height <= 10000, ratio <= 20. Albums (sendMediaGroup): 2-10 photos/videos, caption on "
            "the first item. Uploads through the Bot API: at most 50 MB. No idempotency key."
        ),
    )

    def _post_link(self, ident: Identity, post_id: int) -> str:
        return self.post_url(ident.chat, post_id)

    def comment_root(self, message: JSON, ident: Identity, threads: dict[int, int]) -> str:
        linked = ident.chat.get("linked_chat_id")
        if not linked or int(message["chat"]["id"]) != int(linked) or message.get("is_automatic_forward"):
            return ""
        reply = message.get("reply_to_message")
        if isinstance(reply, dict):
            direct = forwarded_post(reply, ident)
            if direct:
                return str(direct)
            parent_thread = reply.get("message_thread_id")
            if parent_thread in threads:
                return str(threads[parent_thread])
            if reply.get("message_id") in threads:
                return str(threads[reply["message_id"]])
        thread = message.get("message_thread_id")
        return str(threads[thread]) if thread in threads else ""

    def fetch_comments(self, cursor: str = "", *, post_ids: Sequence[str] = ()) -> Page[RemoteMessage]:
        """Comments since ``cursor`` (oldest first). Pass the same cursor to :meth:`fetch_mentions`
        and keep the one with the lower offset: both read the bot's single update queue."""
        ident = self.identity()
        state = Cursor.parse(cursor)
        if not ident.chat.get("linked_chat_id"):
            return Page(items=(), cursor=cursor)  # no discussion group: the channel has no comments
        updates, state = self.poll(state)
        threads = dict(state.threads)
        wanted = {str(MessageRef.parse(p, network=self.key).message_ids[0]) for p in post_ids}
        found: list[RemoteMessage] = []
        for update in updates:
            message = update.get("message")
            if not isinstance(message, dict):
                continue
            if note_automatic_forward(message, ident, threads):
                continue
            root = self.comment_root(message, ident, threads)
            if not root or (wanted and root not in wanted):
                continue
            if message.get("message_thread_id") and message["message_thread_id"] not in threads:
                threads[int(message["message_thread_id"])] = int(root)
            item = self.to_remote(message, MessageKind.COMMENT, root=root)
            url = self._post_link(ident, int(root))
            found.append(replace(item, url=f"{url}?comment={message['message_id']}" if url else ""))
        return Page(items=tuple(found), cursor=state.with_threads(threads).dump())

    def hide(self, remote_id: str) -> None:
        """Remove a comment: deleteMessage in the discussion group (the bot needs can_delete_messages)."""
        ref = MessageRef.parse(remote_id, network=self.key)
        self._delete(ref.chat_id or str(self.identity().chat.get("linked_chat_id") or self.target), ref.message_ids)
