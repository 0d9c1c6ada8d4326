"""Push receivers for the inbox: Meta (Facebook Pages, Instagram) and the Bot API (Telegram, Bale).
See docs/inbox-webhooks.md."""

from sokhan.inbox.webhooks.botapi import webhook_secret_issue, webhook_url
from sokhan.inbox.webhooks.routes import router

__all__ = ["router", "webhook_secret_issue", "webhook_url"]
