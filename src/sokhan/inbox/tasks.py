"""Background work of the inbox: polling every channel each minute, waking snoozed conversations,
and the network actions rules ask for (automatic replies, hiding spam)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.tasks import task
from django.utils import timezone

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.inbox.models import Message, SendState, WebhookDelivery
from sokhan.inbox.poll import channels_to_poll, poll_channel
from sokhan.inbox.replies import message_action, reply_send
from sokhan.inbox.workflow import wake_snoozed
from sokhan.runtime.jobs import retry_policy
from sokhan.runtime.schedules import register_schedule


@retry_policy(max_attempts=1)
@task
def poll_inbox_channel(channel_id: int) -> dict[str, Any]:
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id, status=ChannelStatus.ACTIVE).first()
    if channel is None:
        return {"created": 0, "skipped": True}
    result = poll_channel(channel)
    return {"created": result.created, "duplicates": result.duplicates, "errors": result.errors}


@task
def poll_all_inboxes() -> int:
    ids = channels_to_poll()
    for channel_id in ids:
        poll_inbox_channel.enqueue(channel_id=channel_id)
    return len(ids)


@task
def wake_snoozed_conversations() -> int:
    return wake_snoozed()


@retry_policy(max_attempts=1)  # a reply is sent at most once; a failure stays on the message for a person
@task
def auto_reply_task(message_id: int, text: str) -> str:
    message = Message.objects.select_related("conversation__channel", "conversation__workspace").get(pk=message_id)
    if message.conversation.messages.filter(automatic=True, in_reply_to=message.remote_id).exists():
        return "already answered"  # the job ran before and was interrupted after sending
    sent = reply_send(message.conversation, text, actor=None, to=message, automatic=True)
    return str(sent.send_state or SendState.SENT)


@retry_policy(max_attempts=3, backoff_seconds=60)
@task
def hide_task(message_id: int) -> bool:
    message = Message.objects.select_related("conversation__channel", "conversation__workspace").get(pk=message_id)
    message_action(message, "hide", actor=None)
    return True


@task
def prune_webhook_deliveries() -> int:
    """Forget accepted pushes after a week: Meta deliveries older than the replay window are refused
    anyway, and the Bot API keeps an undelivered update for a day at most."""
    deleted, _rows = WebhookDelivery.objects.filter(received_at__lt=timezone.now() - timedelta(days=7)).delete()
    return deleted


register_schedule("inbox.poll", "* * * * *", poll_all_inboxes)
register_schedule("inbox.webhooks.prune", "20 3 * * *", prune_webhook_deliveries)
register_schedule("inbox.snoozed", "* * * * *", wake_snoozed_conversations)
