"""Periodic schedules: declared in code, synced by workers, fired exactly once per period."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import runtime_tasks
from runtime_helpers import Clock

from sokhan.runtime import schedules
from sokhan.runtime.cron import CronError
from sokhan.runtime.jobs import JOB_MACHINE
from sokhan.runtime.models import Job, Schedule
from sokhan.runtime.schedules import SCHEDULE_MACHINE, register_schedule, sync_schedules
from sokhan.runtime.worker import Worker


@pytest.fixture
def registry() -> Iterator[None]:
    """Tests declare their own schedules; the real registry is restored afterwards."""
    saved = dict(schedules._specs)
    schedules._specs.clear()
    yield
    schedules._specs.clear()
    schedules._specs.update(saved)


@pytest.fixture
def start() -> Clock:
    return Clock(datetime(2030, 1, 7, 10, 0, 30, tzinfo=UTC))


def test_two_workers_fire_each_period_exactly_once(db: None, registry: None, start: Clock) -> None:
    register_schedule("every5", "*/5 * * * *", runtime_tasks.add, args=[1, 2])
    sync_schedules(start.now)
    row = Schedule.objects.get(name="every5")
    assert row.state == Schedule.ACTIVE and row.state_due_at == datetime(2030, 1, 7, 10, 5, tzinfo=UTC)

    a = Worker(worker_id="a", machines=[SCHEDULE_MACHINE], clock=start)
    b = Worker(worker_id="b", machines=[SCHEDULE_MACHINE], clock=start)
    assert a.run_once() + b.run_once() == 0  # not due yet
    for t in ("10:05:00", "10:05:01", "10:07:00", "10:10:00", "10:10:02"):
        hour, minute, second = map(int, t.split(":"))
        start.now = start.now.replace(hour=hour, minute=minute, second=second)
        a.run_once()
        b.run_once()
    jobs = Job.objects.filter(task_path="runtime_tasks.add")
    assert jobs.count() == 2  # 10:05 and 10:10, once each
    row.refresh_from_db()
    assert row.last_period == datetime(2030, 1, 7, 10, 10, tzinfo=UTC)
    assert row.state_due_at == datetime(2030, 1, 7, 10, 15, tzinfo=UTC)


def test_a_lease_holder_blocks_the_other_worker(db: None, registry: None, start: Clock) -> None:
    register_schedule("hourly", "@hourly", runtime_tasks.add, args=[0, 0])
    sync_schedules(start.now)
    start.now = datetime(2030, 1, 7, 11, 0, 5, tzinfo=UTC)
    from datetime import timedelta

    from sokhan.runtime import engine

    [held] = engine.claim(SCHEDULE_MACHINE, worker_id="a", lease=timedelta(seconds=30), now=start.now)
    assert Worker(worker_id="b", machines=[SCHEDULE_MACHINE], clock=start).run_once() == 0
    assert engine.run_step(held, worker_id="a", now=start.now) is engine.Outcome.DONE
    assert Job.objects.count() == 1


def test_downtime_fires_once_then_skips_to_the_next_future_period(db: None, registry: None, start: Clock) -> None:
    register_schedule("every5", "*/5 * * * *", runtime_tasks.add, args=[1, 1])
    sync_schedules(start.now)
    start.now = datetime(2030, 1, 7, 13, 2, tzinfo=UTC)  # three hours of missed periods
    Worker(worker_id="a", machines=[SCHEDULE_MACHINE], clock=start).run_once()
    assert Job.objects.count() == 1
    assert Schedule.objects.get().state_due_at == datetime(2030, 1, 7, 13, 5, tzinfo=UTC)


def test_sync_updates_changed_and_retires_removed(db: None, registry: None, start: Clock) -> None:
    register_schedule("a", "0 * * * *", runtime_tasks.add, args=[1, 1])
    register_schedule("b", "0 0 * * *", runtime_tasks.add, args=[2, 2], timezone="Asia/Tehran")
    sync_schedules(start.now)
    assert Schedule.objects.get(name="b").state_due_at == datetime(2030, 1, 7, 20, 30, tzinfo=UTC)

    schedules.unregister_schedule("a")
    register_schedule("b", "30 0 * * *", runtime_tasks.add, args=[2, 2], timezone="Asia/Tehran")
    sync_schedules(start.now)
    a, b = Schedule.objects.order_by("name")
    assert a.state == Schedule.RETIRED and a.state_due_at is None
    assert b.cron == "30 0 * * *" and b.state_due_at == datetime(2030, 1, 7, 21, 0, tzinfo=UTC)
    # Unchanged declarations leave the row alone (its due time is not pushed back).
    sync_schedules(datetime(2030, 1, 7, 22, 0, tzinfo=UTC))
    b.refresh_from_db()
    assert b.state_due_at == datetime(2030, 1, 7, 21, 0, tzinfo=UTC)


def test_fired_job_runs_through_the_job_queue(db: None, registry: None, start: Clock) -> None:
    register_schedule("sum", "* * * * *", runtime_tasks.add, kwargs={"a": 20, "b": 22})
    sync_schedules(start.now)
    start.advance(60)
    w = Worker(worker_id="a", machines=[SCHEDULE_MACHINE, JOB_MACHINE], clock=start)
    assert w.run_once() == 2
    assert Job.objects.get().return_value == 42


def test_bad_declarations_fail_at_import(registry: None) -> None:
    with pytest.raises(CronError):
        register_schedule("bad", "61 * * * *", runtime_tasks.add)
    with pytest.raises(Exception, match="No time zone"):
        register_schedule("bad", "* * * * *", runtime_tasks.add, timezone="Mars/Olympus")
