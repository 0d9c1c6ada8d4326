"""Background work of analytics: a tick every five minutes enrols what is new and queues one job per
channel with snapshots due, so a slow or failing network never holds up the others."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from sokhan.analytics.collect import collect_channel, plan
from sokhan.channels.models import Channel
from sokhan.runtime.jobs import retry_policy
from sokhan.runtime.schedules import register_schedule


# One attempt: a failed run's rows stay due and its hold expires, so the tick queues it again.
@retry_policy(max_attempts=1)
@task
def collect_channel_metrics(channel_id: int) -> dict[str, Any]:
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id).first()
    if channel is None:
        return {"skipped": True}
    result = collect_channel(channel)
    return {
        "account": result.account,
        "posts": result.posts,
        "gaps": result.gaps,
        "error": result.error,
        "skipped": result.skipped,
    }


@task
def collect_due_metrics() -> int:
    ids = plan()
    for channel_id in ids:
        collect_channel_metrics.enqueue(channel_id=channel_id)
    return len(ids)


register_schedule("analytics.collect", "*/5 * * * *", collect_due_metrics)
