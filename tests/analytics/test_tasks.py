"""The tick and the per-channel jobs on the real worker runtime (an in-process worker)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from tests.analytics.helpers import mastodon_account, mastodon_channel, mastodon_status, published, recorded
from tests.networks.replay import ReplayServer

from sokhan.analytics.models import AccountSnapshot, ChannelCollection, PostSnapshot
from sokhan.analytics.tasks import collect_due_metrics
from sokhan.core.models import Workspace
from sokhan.runtime.jobs import JOB_MACHINE
from sokhan.runtime.models import Job
from sokhan.runtime.schedules import registered_schedules
from sokhan.runtime.worker import Worker

pytestmark = pytest.mark.django_db


def test_the_collection_schedule_is_registered() -> None:
    spec = next(s for s in registered_schedules() if s.name == "analytics.collect")
    assert spec.cron == "*/5 * * * *"
    assert spec.task_path == collect_due_metrics.module_path


def test_tick_queues_one_job_per_channel_and_the_worker_collects(workspace: Workspace) -> None:
    replay = recorded(
        "worker", mastodon_account(followers=300), mastodon_status("110001", likes=4, replies=1, reblogs=0)
    )
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        idle = mastodon_channel(workspace, "http://127.0.0.1:9", remote_id="idle")
        ChannelCollection.objects.create(workspace=workspace, channel=idle)  # nothing due
        target = published(channel, "110001", timezone.now() - timedelta(hours=1, minutes=10))

        assert collect_due_metrics.call() == 1
        assert Job.objects.filter(task_path__endswith="collect_channel_metrics").count() == 1
        assert collect_due_metrics.call() == 0  # held while its job waits: not queued twice

        worker = Worker(worker_id="t", lease_seconds=30, poll_seconds=0, machines=[JOB_MACHINE])
        assert worker.run_once() == 1
    replay.verify()
    job = Job.objects.get(task_path__endswith="collect_channel_metrics")
    assert job.state == Job.SUCCEEDED
    assert job.return_value == {"account": True, "posts": 1, "gaps": 0, "error": "", "skipped": False}
    assert AccountSnapshot.objects.get(channel=channel).followers == 300
    assert PostSnapshot.objects.get(target=target).likes == 4
    assert ChannelCollection.objects.get(channel=channel).hold_until is None
