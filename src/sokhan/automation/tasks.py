"""Background work: poll watched feeds (every 10 minutes, one job per feed) and make the posts of
recurring series (every minute)."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from sokhan.automation import feeds, recurring
from sokhan.automation.models import FeedWatch
from sokhan.runtime.jobs import retry_policy
from sokhan.runtime.schedules import register_schedule


@retry_policy(max_attempts=1)
@task
def poll_feed(watch_id: int) -> dict[str, Any]:
    watch = FeedWatch.objects.select_related("workspace").filter(pk=watch_id, active=True).first()
    if watch is None:
        return {"status": "gone"}
    result = feeds.poll_watch(watch)
    return {"status": result.status, "created": result.created, "error": result.error}


@task
def poll_due_feeds() -> int:
    due = feeds.poll_due()
    for watch_id in due:
        poll_feed.enqueue(watch_id=watch_id)
    return len(due)


@task
def materialise_recurring() -> int:
    return recurring.materialise_due()


register_schedule("automation.feeds", "*/10 * * * *", poll_due_feeds)
register_schedule("automation.recurring", "* * * * *", materialise_recurring)
