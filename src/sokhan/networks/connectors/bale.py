"""Bale (بله) channels through Bale's Bot API (https://docs.bale.ai/).

Bale documents its Bot API as Telegram's Bot API with small changes, served at
``https://tapi.bale.ai/bot<token>/<method>`` with the same ``{"ok", "result" | "error_code",
"description", "parameters"}`` envelope. What differs and what this connector therefore does:

- replies use ``reply_to_message_id`` (Bale documents no ``reply_parameters``);
- no ``parse_mode``: Bale formats Markdown-like markers itself, so text is sent as written;
- the member count method is ``getChatMembersCount``;
- ``supports_streaming`` and ``deleteMessages`` are not documented: not sent / one delete per message;
- updates carry ``message`` / ``edited_message`` / ``callback_query``, no ``channel_post`` and no
  automatic-forward markers, so comments in a discussion group cannot be told apart: COMMENTS and
  HIDE are not declared; mentions of the bot or channel in groups are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sokhan.networks.connectors._botapi import BotApiConnector
from sokhan.networks.registry import register
from sokhan.networks.types import Capability, Limits, MediaLimits, TextCounting

MB = 1_000_000


@register
class BaleConnector(BotApiConnector):
    key = "bale"
    name = "Bale"
    docs_url = "https://docs.bale.ai/"
    default_base_url = "https://tapi.bale.ai"
    reply_style = "message_id"
    parse_mode = None
    member_count_method = "getChatMembersCount"
    caption_max = 1024
    bulk_delete = False
    video_streaming_hint = False
    link_host = "https://ble.ir"
    capabilities = frozenset(
        {
            Capability.PROFILE_READ,
            Capability.PUBLISH_TEXT,
            Capability.PUBLISH_IMAGE,
            Capability.PUBLISH_VIDEO,
            Capability.PUBLISH_REPLY,
            Capability.DELETE,
            Capability.MENTIONS,
            Capability.REPLY,
            Capability.REPLY_MEDIA,
            Capability.SEND_DM,
            Capability.DM_MEDIA,
            Capability.ACCOUNT_METRICS,
        }
    )
    limits = Limits(
        max_text=4096,
        counting=TextCounting.UTF16,
        media=MediaLimits(
            max_count=10,
            image_types=("image/jpeg", "image/png"),
            video_types=("video/mp4",),
            max_image_bytes=10 * MB,
            max_video_bytes=50 * MB,
            mixed_types=True,
        ),
        max_comment_text=4096,
        notes=(
            "Text: 1-4096 characters (counted here in UTF-16 units like Telegram, the stricter reading). "
            "Captions: kept at 1024 like Telegram; Bale's docs allow more on some media methods. Photos: at "
            "most 10 MB by upload (5 MB by URL); other files 50 MB by upload. Bale applies its own Markdown "
            "(*bold*, _italic_ with spaces around them, [text](url)) to every message. Deleting works for "
            "48 hours. No idempotency key."
        ),
    )

    def post_url(self, chat: Mapping[str, Any], message_id: object) -> str:
        """Bale documents ``ble.ir/<username>`` links to chats, not links to single posts."""
        return ""
