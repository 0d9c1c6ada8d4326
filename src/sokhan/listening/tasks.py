"""Background work of listening's sources: every minute the worker enqueues one poll job per
enabled source whose turn has come (chats every minute, searches, hashtags and feeds every
``SOKHAN_LISTENING_POLL_SECONDS``, default five minutes). See ``sokhan.listening.sources``."""

from __future__ import annotations

from typing import Any

from django.tasks import task
from django.utils import timezone

from sokhan.listening.models import Source
from sokhan.listening.sources import POLLED_KINDS, claim_due, poll_source
from sokhan.runtime.jobs import retry_policy
from sokhan.runtime.schedules import register_schedule


@retry_policy(max_attempts=1)  # a failed poll is recorded on the source and tried at its next turn
@task
def poll_listening_source(source_id: int) -> dict[str, Any]:
    source = (
        Source.objects.select_related("workspace", "channel")
        .filter(pk=source_id, enabled=True, kind__in=POLLED_KINDS)
        .first()
    )
    if source is None:
        return {"stored": 0, "skipped": True}
    outcome = poll_source(source)
    result = outcome.result
    return {
        "stored": result.stored,
        "duplicates": result.duplicates,
        "unmatched": result.unmatched,
        "routed": result.routed,
        "pages": outcome.pages,
        "error": outcome.error,
    }


@task
def poll_listening_sources() -> int:
    due = claim_due(timezone.now())
    for source_id in due:
        poll_listening_source.enqueue(source_id=source_id)
    return len(due)


register_schedule("listening.sources", "* * * * *", poll_listening_sources)
