"""Background work of alerts and crisis mode: every five minutes one detection job per workspace
with enabled topics (which also writes an open incident's hourly timeline lines), and the alert
delivery jobs those enqueue. Imported by the app's ``ready()`` (workers autodiscover only
``tasks`` modules, and that one belongs to the sources)."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from sokhan.core.models import Workspace
from sokhan.listening import alert_destinations, alerts, crisis
from sokhan.listening.models import Topic
from sokhan.runtime.jobs import retry_policy
from sokhan.runtime.schedules import register_schedule


@task
def detect_spikes() -> int:
    ids = sorted(set(Topic.objects.filter(enabled=True).values_list("workspace_id", flat=True)))
    for workspace_id in ids:
        detect_workspace_spikes.enqueue(workspace_id=workspace_id)
    return len(ids)


@retry_policy(max_attempts=3, backoff_seconds=30)  # only database work: a failed run leaves nothing behind
@task
def detect_workspace_spikes(workspace_id: int) -> dict[str, Any]:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return {"alerts": 0}
    created = alerts.detect_workspace(workspace)
    lines = crisis.incident_tick(workspace)
    return {"alerts": len(created), "alert_ids": [a.pk for a in created], "timeline": lines}


@retry_policy(max_attempts=1)  # at most once: a worker that dies mid-send is never followed by a second send
@task
def deliver_alert(alert_id: int, destination_id: int, attempt: int = 1) -> dict[str, Any]:
    return alert_destinations.deliver(alert_id, destination_id, attempt)


register_schedule("listening.spikes", "*/5 * * * *", detect_spikes)
