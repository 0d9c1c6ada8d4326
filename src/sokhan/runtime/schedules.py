"""Periodic schedules declared in code, stored as :class:`Schedule` rows, fired by the engine.

Declare one at import time of a module the app loads (``tasks.py`` modules are auto-imported by
workers)::

    from sokhan.runtime.schedules import register_schedule

    register_schedule("listening.poll", "*/5 * * * *", poll_feeds)
    register_schedule("analytics.daily", "30 2 * * *", roll_up_day, timezone="Asia/Tehran")

Every worker syncs the registry into the table when it starts. Each period fires exactly once no
matter how many workers run: firing is a leased engine step whose job INSERT and next due time
commit together. A worker that was down over several periods fires once, then moves to the next
future period (no catch-up storm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.tasks import Task
from django.utils import timezone
from django.utils.json import normalize_json

from sokhan.runtime.cron import CronExpression
from sokhan.runtime.engine import current_step, register
from sokhan.runtime.graph import Next, Retry, State, StateGraph
from sokhan.runtime.jobs import load_task
from sokhan.runtime.models import Schedule


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    cron: str
    task_path: str
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"

    def next_after(self, after: datetime) -> datetime:
        return CronExpression.parse(self.cron).next_after(after, ZoneInfo(self.timezone))


_specs: dict[str, ScheduleSpec] = {}


def register_schedule(
    name: str,
    cron: str,
    task: Task[Any, Any],
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    timezone: str = "UTC",
) -> ScheduleSpec:
    """Declare a periodic task. Bad cron text or zone fails here, at import, not in the worker."""
    spec = ScheduleSpec(
        name=name,
        cron=cron,
        task_path=task.module_path,
        # JSON round-trip shape, so the table comparison in sync sees the same values.
        args=cast(list[Any], normalize_json(list(args))),
        kwargs=cast(dict[str, Any], normalize_json(dict(kwargs or {}))),
        timezone=timezone,
    )
    spec.next_after(datetime.now(ZoneInfo("UTC")))  # validates cron and zone
    _specs[name] = spec
    return spec


def unregister_schedule(name: str) -> None:
    _specs.pop(name, None)


def registered_schedules() -> list[ScheduleSpec]:
    return list(_specs.values())


def _differs(row: Schedule, spec: ScheduleSpec) -> bool:
    return (row.cron, row.timezone, row.task_path, row.args, row.kwargs) != (
        spec.cron,
        spec.timezone,
        spec.task_path,
        spec.args,
        spec.kwargs,
    )


def sync_schedules(now: datetime | None = None) -> None:
    """Make the table match the registry: add/update declared schedules, retire the rest."""
    try:
        _sync(now or timezone.now())
    except IntegrityError:
        # Another worker inserted the same new schedule first; its row is what we wanted.
        _sync(now or timezone.now())


def _sync(now: datetime) -> None:
    with transaction.atomic():
        rows = {s.name: s for s in Schedule.objects.select_for_update()}
        for spec in _specs.values():
            row = rows.get(spec.name)
            if row is not None and not _differs(row, spec) and row.state == Schedule.ACTIVE:
                continue
            row = row or Schedule(name=spec.name)
            row.cron, row.timezone, row.task_path = spec.cron, spec.timezone, spec.task_path
            row.args, row.kwargs = spec.args, spec.kwargs
            row.enter_state(Schedule.ACTIVE, due_at=spec.next_after(now))
            row.save()
        for name, row in rows.items():
            if name not in _specs and row.state != Schedule.RETIRED:
                row.enter_state(Schedule.RETIRED, active=False)
                row.save()


def fire_schedule(schedule: Schedule) -> Next:
    """Enqueue this period's job and move the due time to the next period after now."""
    now = current_step().now
    period = schedule.state_due_at or now
    load_task(schedule.task_path).enqueue(*schedule.args, **schedule.kwargs)
    schedule.last_fired_at = now
    schedule.last_period = period
    schedule.save(update_fields=["last_fired_at", "last_period"])
    following = CronExpression.parse(schedule.cron).next_after(max(now, period), ZoneInfo(schedule.timezone))
    return Next(Schedule.ACTIVE, due_at=following)


SCHEDULE_GRAPH = StateGraph(
    "schedule",
    states=[
        State(
            Schedule.ACTIVE,
            handler=fire_schedule,
            to=[Schedule.ACTIVE],
            retry=Retry(max_attempts=5, base_seconds=30),
        ),
        State(Schedule.RETIRED),
        State(Schedule.FAILED),
    ],
    failure_state=Schedule.FAILED,
)

SCHEDULE_MACHINE = register(Schedule, SCHEDULE_GRAPH)
