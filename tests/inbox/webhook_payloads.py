"""Webhook bodies shaped as Meta and the Bot API document them (sources at the top of
test_webhooks.py). Times are Unix seconds unless said otherwise; Messenger uses milliseconds."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

PAGE_ID = "104857600000001"
IG_ID = "17841400000000001"


# ---------------------------------------------------------------------------------------------- Meta


def delivery(obj: str, *entries: JSON) -> JSON:
    return {"object": obj, "entry": list(entries)}


def page_comment_entry(
    *,
    time: int,
    comment_id: str = f"{PAGE_ID}_2001_3001",
    post_id: str = f"{PAGE_ID}_2001",
    parent_id: str | None = None,
    message: str = "Is the dark roast back in stock?",
    sender: tuple[str, str] = ("6500000000000001", "Sara Ahmadi"),
    page_id: str = PAGE_ID,
) -> JSON:
    """A Page ``feed`` change for a new comment (Graph API webhooks reference, Page ``feed``)."""
    return {
        "id": page_id,
        "time": time,
        "changes": [
            {
                "field": "feed",
                "value": {
                    "from": {"id": sender[0], "name": sender[1]},
                    "post": {
                        "status_type": "mobile_status_update",
                        "is_published": True,
                        "updated_time": "2025-05-01T10:00:00+0000",
                        "permalink_url": f"https://www.facebook.com/{post_id}",
                        "promotion_status": "inactive",
                        "id": post_id,
                    },
                    "message": message,
                    "post_id": post_id,
                    "comment_id": comment_id,
                    "created_time": time,
                    "item": "comment",
                    "parent_id": parent_id or post_id,
                    "verb": "add",
                },
            }
        ],
    }


def page_reaction_entry(*, time: int) -> JSON:
    """A ``feed`` change the inbox does not read (a reaction)."""
    return {
        "id": PAGE_ID,
        "time": time,
        "changes": [
            {
                "field": "feed",
                "value": {
                    "item": "reaction",
                    "verb": "add",
                    "reaction_type": "like",
                    "post_id": f"{PAGE_ID}_2001",
                    "from": {"id": "6500000000000002", "name": "Ali"},
                    "created_time": time,
                },
            }
        ],
    }


def messenger_entry(
    *,
    time_ms: int,
    mid: str = "m_AAAAAAAAAAAA1",
    sender: str = "7100000000000001",
    text: str = "Hello, do you deliver to Tabriz?",
    page_id: str = PAGE_ID,
    echo: bool = False,
) -> JSON:
    """A Messenger ``messages`` event: ``entry.time`` and ``timestamp`` are in milliseconds."""
    message: JSON = {"mid": mid, "text": text}
    if echo:
        message["is_echo"] = True
        message["app_id"] = 1517776481860111
    return {
        "id": page_id,
        "time": time_ms,
        "messaging": [
            {
                "sender": {"id": page_id if echo else sender},
                "recipient": {"id": sender if echo else page_id},
                "timestamp": time_ms,
                "message": message,
            }
        ],
    }


def ig_comment_entry(
    *, time: int, comment_id: str = "17900000000000001", media_id: str = "17890000000000001", text: str = "Love it"
) -> JSON:
    """An Instagram ``comments`` change (Instagram Platform webhook examples)."""
    return {
        "id": IG_ID,
        "time": time,
        "changes": [
            {
                "field": "comments",
                "value": {
                    "from": {"id": "232323232", "username": "coffee_fan"},
                    "media": {"id": media_id, "media_product_type": "FEED"},
                    "id": comment_id,
                    "text": text,
                },
            }
        ],
    }


def ig_mention_entry(*, time: int, media_id: str = "17890000000000777", comment_id: str = "17900000000000777") -> JSON:
    """An Instagram ``mentions`` change: the ids only, no text."""
    return {
        "id": IG_ID,
        "time": time,
        "changes": [{"field": "mentions", "value": {"media_id": media_id, "comment_id": comment_id}}],
    }


# ---------------------------------------------------------------------------------------------- Bot API

CHANNEL_CHAT = {"id": -1001234567890, "title": "Acme Coffee", "username": "acme_news", "type": "channel"}
GROUP_CHAT = {"id": -1009876543210, "title": "Acme Coffee chat", "type": "supergroup"}
OTHER_GROUP = {"id": -1005550000000, "title": "Coffee lovers", "type": "supergroup"}
SARA = {"id": 111111111, "is_bot": False, "first_name": "Sara", "username": "sara_fa", "language_code": "fa"}
ALI = {"id": 222222222, "is_bot": False, "first_name": "Ali", "last_name": "Rezaei"}


def update(update_id: int, message: JSON, *, key: str = "message") -> JSON:
    return {"update_id": update_id, key: message}


def private_message(*, message_id: int = 1365, date: int, text: str = "سلام، سفارشم کی می‌رسد؟") -> JSON:
    chat = {"id": SARA["id"], "first_name": "Sara", "username": "sara_fa", "type": "private"}
    return {"message_id": message_id, "from": SARA, "chat": chat, "date": date, "text": text}


def automatic_forward(*, message_id: int = 50, post_id: int = 101, date: int) -> JSON:
    """Our channel post as copied into the linked discussion group."""
    return {
        "message_id": message_id,
        "sender_chat": CHANNEL_CHAT,
        "chat": GROUP_CHAT,
        "date": date,
        "is_automatic_forward": True,
        "forward_origin": {"type": "channel", "chat": CHANNEL_CHAT, "message_id": post_id, "date": date},
        "text": "New beans from Yirgacheffe",
    }


def group_reply(*, message_id: int, reply_to: JSON, date: int, text: str, sender: JSON = SARA) -> JSON:
    return {
        "message_id": message_id,
        "from": sender,
        "chat": GROUP_CHAT,
        "date": date,
        "message_thread_id": reply_to.get("message_thread_id", reply_to["message_id"]),
        "reply_to_message": reply_to,
        "text": text,
    }


def group_mention(*, message_id: int = 7, date: int) -> JSON:
    text = "Try @acme_news beans"
    return {
        "message_id": message_id,
        "from": ALI,
        "chat": OTHER_GROUP,
        "date": date,
        "text": text,
        "entities": [{"offset": 4, "length": 10, "type": "mention"}],
    }


def channel_post(*, message_id: int, date: int) -> JSON:
    return {"message_id": message_id, "sender_chat": CHANNEL_CHAT, "chat": CHANNEL_CHAT, "date": date, "text": "Hi"}
