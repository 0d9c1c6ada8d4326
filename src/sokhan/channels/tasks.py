"""Background work for channels: proactive refresh, health checks, daily profile snapshots.

The periodic tasks only enqueue one job per channel, so a slow or failing network never holds up
the others and each job's transaction stays short.
"""

from __future__ import annotations

from typing import Any

from django.tasks import task
from django.utils import timezone

from sokhan.channels.calls import channel_refresh
from sokhan.channels.health import channel_health_check, channels_to_check, channels_to_refresh
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.channels.services import channel_check
from sokhan.networks import registry
from sokhan.networks.errors import ConnectorError
from sokhan.runtime.jobs import retry_policy
from sokhan.runtime.schedules import register_schedule

# The worker imports this module when it starts: load every connector now (some import large
# SDKs) rather than while the first due post waits.
registry.all_connectors()


@retry_policy(max_attempts=3, backoff_seconds=60)
@task
def refresh_channel(channel_id: int) -> bool:
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id).first()
    return bool(channel is not None and channel_refresh(channel))


@task
def refresh_due_channels() -> int:
    due = channels_to_refresh(timezone.now())
    for channel_id in due:
        refresh_channel.enqueue(channel_id=channel_id)
    return len(due)


@retry_policy(max_attempts=1)
@task
def check_channel(channel_id: int) -> dict[str, Any]:
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id).first()
    if channel is None:
        return {"ok": False, "status": "gone"}
    result = channel_health_check(channel)
    return {"ok": result.ok, "status": result.status, "message": result.message}


@task
def check_all_channels() -> int:
    ids = channels_to_check()
    for channel_id in ids:
        check_channel.enqueue(channel_id=channel_id)
    return len(ids)


@retry_policy(max_attempts=1)
@task
def snapshot_channel(channel_id: int) -> bool:
    channel = Channel.objects.select_related("workspace").filter(pk=channel_id).first()
    if channel is None or channel.status != ChannelStatus.ACTIVE:
        return False
    try:
        channel_check(channel)
    except ConnectorError:
        return False  # recorded on the channel by call()
    return True


@task
def snapshot_all_profiles() -> int:
    ids = list(Channel.objects.filter(status=ChannelStatus.ACTIVE).values_list("pk", flat=True))
    for channel_id in ids:
        snapshot_channel.enqueue(channel_id=channel_id)
    return len(ids)


register_schedule("channels.refresh", "*/10 * * * *", refresh_due_channels)
register_schedule("channels.health", "7 * * * *", check_all_channels)
register_schedule("channels.profiles", "40 2 * * *", snapshot_all_profiles)
