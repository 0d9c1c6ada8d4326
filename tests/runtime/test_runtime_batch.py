"""Steps of many claimed rows in one transaction (``engine.run_batch``), on the Job table."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from runtime_helpers import Clock

from sokhan.core.models import AuditEvent, Workspace
from sokhan.runtime import engine
from sokhan.runtime.graph import Retry, State, StateGraph
from sokhan.runtime.models import Job
from sokhan.runtime.worker import Worker

LEASE = timedelta(seconds=30)


def make_rows(n: int, clock: Clock) -> list[Job]:
    rows = []
    for i in range(n):
        row = Job(task_path=f"tests.row{i}")
        row.enter_state("start", due_at=clock.now - timedelta(seconds=1))
        row.save()
        rows.append(row)
    return rows


def machine_for(handler: Any, *, rerunnable: Any = lambda row: True) -> engine.Machine:
    graph = StateGraph(
        "batch-test",
        states=[
            State("start", handler=handler, to=["middle", "done"], retry=Retry(max_attempts=3, base_seconds=10)),
            State("middle", handler=lambda row: "done", to=["done"]),
            State("done"),
            State("broken"),
        ],
        failure_state="broken",
    )
    return engine.Machine(Job, graph, rerunnable=rerunnable)


def effect(label: str) -> None:
    AuditEvent.objects.create(workspace=Workspace.objects.get(slug="acme"), action="t", target=label)


def effects() -> Counter[str]:
    return Counter(AuditEvent.objects.filter(action="t").values_list("target", flat=True))


def test_a_batch_moves_every_row_and_keeps_each_handlers_own_writes(workspace: Workspace, clock: Clock) -> None:
    rows = make_rows(5, clock)

    def handler(row: Job) -> str:
        row.return_value = {"task": row.task_path}
        row.finished_at = clock.now if row.task_path.endswith(("0", "2")) else None
        engine.save_with_step(row, "return_value", "finished_at")
        effect(row.task_path)
        return "done"

    machine = machine_for(handler)
    claims = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now, limit=10)
    with CaptureQueriesContext(connection) as queries:
        outcomes = engine.run_batch(claims, worker_id="a", now=clock.now)
    assert set(outcomes.values()) == {engine.Outcome.DONE} and len(outcomes) == 5
    for row in rows:
        row.refresh_from_db()
        assert (row.state, row.state_lease_owner, row.state_due_at) == ("done", "", None)
        assert row.return_value == {"task": row.task_path}
        assert (row.finished_at is not None) == row.task_path.endswith(("0", "2"))
    assert effects() == Counter(row.task_path for row in rows)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    # PostgreSQL writes the whole batch in one statement; SQLite (one writer) row by row.
    assert len(updates) == (1 if connection.vendor == "postgresql" else 5)


def test_a_failing_handler_rolls_the_batch_back_and_each_row_runs_alone(workspace: Workspace, clock: Clock) -> None:
    rows = make_rows(4, clock)
    calls: Counter[str] = Counter()

    def handler(row: Job) -> str:
        calls[row.task_path] += 1
        effect(row.task_path)
        if row.task_path == "tests.row2":
            raise ConnectionError("network down")
        return "done"

    machine = machine_for(handler)
    claims = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now, limit=10)
    outcomes = engine.run_batch(claims, worker_id="a", now=clock.now)
    by_path = {row.task_path: outcomes[row.pk] for row in rows}
    assert by_path == {
        "tests.row0": engine.Outcome.DONE,
        "tests.row1": engine.Outcome.DONE,
        "tests.row2": engine.Outcome.RETRY,
        "tests.row3": engine.Outcome.DONE,
    }
    # The batch's effects were rolled back: each row's effect is there once, the failed row's not at all.
    assert effects() == Counter({"tests.row0": 1, "tests.row1": 1, "tests.row3": 1})
    failed = Job.objects.get(task_path="tests.row2")
    assert failed.state == "start" and "ConnectionError: network down" in failed.state_error
    assert failed.state_lease_owner == "" and failed.state_due_at is not None and failed.state_due_at > clock.now
    # The batch runs rows in key order: those up to the failing one ran twice (in the batch, then
    # alone), which is why a batch takes only rows whose handler may run again.
    in_order = [row.task_path for row in sorted(rows, key=lambda r: r.pk)]
    cut = in_order.index("tests.row2")
    assert [calls[path] for path in in_order] == [2] * (cut + 1) + [1] * (len(rows) - cut - 1)


def test_rows_that_may_not_run_twice_run_alone_and_only_once(workspace: Workspace, clock: Clock) -> None:
    make_rows(4, clock)
    calls: Counter[str] = Counter()

    def handler(row: Job) -> str:
        calls[row.task_path] += 1
        if row.task_path == "tests.row1":
            raise ConnectionError("network down")
        return "done"

    machine = machine_for(handler, rerunnable=lambda row: row.task_path != "tests.row3")
    claims = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now, limit=10)
    outcomes = engine.run_batch(claims, worker_id="a", now=clock.now)
    assert sorted(outcomes.values()) == sorted([engine.Outcome.DONE] * 3 + [engine.Outcome.RETRY])
    assert calls["tests.row3"] == 1
    assert Job.objects.get(task_path="tests.row3").state == "done"


def test_a_row_whose_lease_was_taken_is_left_alone(workspace: Workspace, clock: Clock) -> None:
    rows = make_rows(3, clock)
    seen: list[str] = []

    def handler(row: Job) -> str:
        seen.append(row.task_path)
        return "done"

    machine = machine_for(handler)
    claims = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now, limit=10)
    Job.objects.filter(pk=rows[1].pk).update(state_lease_owner="thief:1")
    outcomes = engine.run_batch(claims, worker_id="a", now=clock.now)
    assert outcomes[rows[1].pk] is engine.Outcome.LOST
    assert outcomes[rows[0].pk] is outcomes[rows[2].pk] is engine.Outcome.DONE
    assert "tests.row1" not in seen
    rows[1].refresh_from_db()
    assert (rows[1].state, rows[1].state_lease_owner) == ("start", "thief:1")


def test_claims_of_different_calls_are_refused(workspace: Workspace, clock: Clock) -> None:
    make_rows(2, clock)
    machine = machine_for(lambda row: "done")
    [one] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now, limit=1)
    [two] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now, limit=1)
    try:
        engine.run_batch([one, two], worker_id="a", now=clock.now)
    except ValueError as exc:
        assert "one claim() call" in str(exc)
    else:
        raise AssertionError("run_batch accepted claims of two calls")


def test_a_batching_worker_runs_each_rows_next_step_at_once(workspace: Workspace, clock: Clock) -> None:
    rows = make_rows(6, clock)
    machine = machine_for(lambda row: "middle")
    worker = Worker(worker_id="w", lease_seconds=30, poll_seconds=0, batch_size=4, machines=[machine], clock=clock)
    assert worker.run_once() == 12  # two steps each, the second under the same lease
    for row in rows:
        row.refresh_from_db()
        assert (row.state, row.state_lease_owner, row.state_attempts) == ("done", "", 0)
