"""Claim, lease, fencing, retries and transitions, on custom graphs over the Job table."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from runtime_helpers import Clock

from sokhan.core.models import AuditEvent, Workspace
from sokhan.runtime import engine
from sokhan.runtime.graph import GraphError, InvalidTransition, Next, Retry, State, StateGraph
from sokhan.runtime.models import Job
from sokhan.runtime.worker import Worker

LEASE = timedelta(seconds=30)


def make_row(state: str = "start", *, due_at: datetime) -> Job:
    row = Job(task_path="tests.none")
    row.enter_state(state, due_at=due_at)
    row.save()
    return row


def graph_with(handler: Any, *, to: tuple[str, ...] = ("done",), retry: Retry | None = None) -> StateGraph:
    return StateGraph(
        "test",
        states=[
            State("start", handler=handler, to=to, retry=retry),
            State("middle", handler=lambda row: "done", to=["done"]),
            State("done"),
            State("broken"),
        ],
        failure_state="broken",
    )


def effect(row: Job, label: str) -> None:
    AuditEvent.objects.create(workspace=Workspace.objects.get(slug="acme"), action="t", target=label)


@pytest.fixture
def row_due(workspace: Workspace, clock: Clock) -> Job:
    return make_row(due_at=clock.now - timedelta(seconds=1))


def test_claim_leases_row_to_one_worker(row_due: Job, clock: Clock) -> None:
    machine = engine.Machine(Job, graph_with(lambda row: "done"))
    first = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now)
    second = engine.claim(machine, worker_id="b", lease=LEASE, now=clock.now)
    assert [c.pk for c in first] == [row_due.pk]
    assert second == []
    row_due.refresh_from_db()
    assert row_due.state_lease_owner == first[0].token and first[0].token.startswith("a:")
    assert row_due.state_locked_until == clock.now + LEASE
    assert row_due.state_attempts == 1


def test_expired_lease_goes_to_another_worker_and_old_owner_is_fenced(row_due: Job, clock: Clock) -> None:
    def handler(row: Job) -> str:
        effect(row, engine.current_step().worker_id)
        return "done"

    machine = engine.Machine(Job, graph_with(handler))
    [stale] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now)
    clock.advance(31)  # worker "a" stalled past its lease
    [fresh] = engine.claim(machine, worker_id="b", lease=LEASE, now=clock.now)
    assert fresh.token != stale.token

    assert engine.run_step(stale, worker_id="a", now=clock.now) is engine.Outcome.LOST
    assert engine.run_step(fresh, worker_id="b", now=clock.now) is engine.Outcome.DONE
    assert list(AuditEvent.objects.filter(action="t").values_list("target", flat=True)) == ["b"]
    row_due.refresh_from_db()
    assert (row_due.state, row_due.state_due_at, row_due.state_lease_owner) == ("done", None, "")


def test_completion_is_rolled_back_with_its_effects_when_lease_was_taken(row_due: Job, clock: Clock) -> None:
    def handler(row: Job) -> str:
        effect(row, "should vanish")
        # Another owner appears on the row before completion: the fenced update must refuse.
        Job.objects.filter(pk=row.pk).update(state_lease_owner="thief:1")
        return "done"

    machine = engine.Machine(Job, graph_with(handler))
    [claimed] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now)
    assert engine.run_step(claimed, worker_id="a", now=clock.now) is engine.Outcome.LOST
    assert not AuditEvent.objects.filter(action="t").exists()
    row_due.refresh_from_db()
    assert row_due.state == "start" and row_due.state_lease_owner == claimed.token


def test_retries_back_off_exponentially_then_fail_keeping_last_error(row_due: Job, clock: Clock) -> None:
    calls: list[int] = []

    def handler(row: Job) -> str:
        calls.append(engine.current_step().attempt)
        effect(row, "rolled back")
        raise ConnectionError(f"network down #{len(calls)}")

    machine = engine.Machine(Job, graph_with(handler, retry=Retry(max_attempts=3, base_seconds=10, jitter=0.2)))
    delays = []
    for expected in (engine.Outcome.RETRY, engine.Outcome.RETRY, engine.Outcome.FAILED):
        [c] = engine.claim(machine, worker_id="w", lease=LEASE, now=clock.now)
        assert engine.run_step(c, worker_id="w", now=clock.now) is expected
        row_due.refresh_from_db()
        if expected is engine.Outcome.RETRY:
            delays.append((row_due.state_due_at - clock.now).total_seconds())
            assert engine.claim(machine, worker_id="w", lease=LEASE, now=clock.now) == []  # not due yet
            clock.now = row_due.state_due_at
    assert calls == [1, 2, 3]
    assert 10 <= delays[0] <= 12 and 20 <= delays[1] <= 24
    assert row_due.state == "broken" and row_due.state_due_at is None
    assert "ConnectionError: network down #3" in row_due.state_error
    assert row_due.state_attempts == 3
    assert not AuditEvent.objects.filter(action="t").exists()


def test_rows_whose_workers_keep_dying_run_out_of_attempts(row_due: Job, clock: Clock) -> None:
    ran: list[int] = []
    machine = engine.Machine(Job, graph_with(lambda row: ran.append(1) or "done", retry=Retry(max_attempts=2)))
    for _ in range(2):  # two claims whose workers vanished without a word
        engine.claim(machine, worker_id="dead", lease=LEASE, now=clock.now)
        clock.advance(31)
    [c] = engine.claim(machine, worker_id="w", lease=LEASE, now=clock.now)
    assert engine.run_step(c, worker_id="w", now=clock.now) is engine.Outcome.FAILED
    row_due.refresh_from_db()
    assert ran == [] and row_due.state == "broken"
    assert "never finished" in row_due.state_error


def test_undeclared_transition_raises_and_row_stays(row_due: Job, clock: Clock) -> None:
    graph = graph_with(lambda row: "middle", to=("done",))
    with pytest.raises(InvalidTransition, match="'start' -> 'middle'"):
        graph.check_transition("start", "middle")
    with pytest.raises(InvalidTransition):
        graph.check_transition("start", "nowhere")
    machine = engine.Machine(Job, graph)
    [c] = engine.claim(machine, worker_id="w", lease=LEASE, now=clock.now)
    assert engine.run_step(c, worker_id="w", now=clock.now) is engine.Outcome.RETRY
    row_due.refresh_from_db()
    assert row_due.state == "start"
    assert "InvalidTransition" in row_due.state_error


def test_next_with_delay_sets_due_time_and_chains_states(row_due: Job, clock: Clock) -> None:
    machine = engine.Machine(Job, graph_with(lambda row: Next("middle", delay=timedelta(minutes=5)), to=("middle",)))
    worker = Worker(worker_id="w", machines=[machine], clock=clock)
    assert worker.run_once() == 1
    row_due.refresh_from_db()
    assert row_due.state == "middle" and row_due.state_due_at == clock.now + timedelta(minutes=5)
    assert worker.run_once() == 0
    clock.advance(300)
    assert worker.run_once() == 1
    row_due.refresh_from_db()
    assert row_due.state == "done"


def test_graph_definition_errors_are_caught_at_import() -> None:
    with pytest.raises(GraphError, match="unknown"):
        StateGraph("g", states=[State("a", handler=lambda r: "b", to=["b"]), State("x")], failure_state="x")
    with pytest.raises(GraphError, match="terminal"):
        StateGraph("g", states=[State("a", handler=lambda r: "a", to=["a"])], failure_state="a")
    with pytest.raises(GraphError, match="twice"):
        StateGraph("g", states=[State("a"), State("a")], failure_state="a")


def test_stopping_finishes_current_step_and_releases_the_rest(workspace: Workspace, clock: Clock) -> None:
    rows = [make_row(due_at=clock.now - timedelta(seconds=3 - i)) for i in range(3)]
    worker: Worker

    def handler(row: Job) -> str:
        worker.request_stop()  # as SIGTERM would, in the middle of the first step
        return "done"

    worker = Worker(worker_id="w", batch_size=3, machines=[engine.Machine(Job, graph_with(handler))], clock=clock)
    assert worker.run_once() == 1
    states = {r.pk: r for r in Job.objects.all()}
    assert states[rows[0].pk].state == "done"
    for r in rows[1:]:
        left = states[r.pk]
        assert (left.state, left.state_lease_owner, left.state_locked_until, left.state_attempts) == (
            "start",
            "",
            None,
            0,
        )


def two_step_machine(middle: Callable[[Job], str]) -> engine.Machine:
    """start → middle → done, where ``start`` moves on at once and ``middle`` runs the given handler."""
    graph = StateGraph(
        "test",
        states=[
            State("start", handler=lambda row: "middle", to=["middle"]),
            State("middle", handler=middle, to=["done"]),
            State("done"),
            State("broken"),
        ],
        failure_state="broken",
    )
    return engine.Machine(Job, graph)


def test_step_moving_to_a_state_due_now_continues_under_the_same_lease(row_due: Job, clock: Clock) -> None:
    attempts: dict[str, int] = {}

    def middle(row: Job) -> str:
        attempts["middle"] = engine.current_step().attempt
        return "done"

    machine = two_step_machine(middle)
    [c] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now)
    clock.advance(5)
    assert engine.run_step(c, worker_id="a", now=clock.now, hold=LEASE) is engine.Outcome.CONTINUE
    row_due.refresh_from_db()  # committed on its own, still ours, the next state's first attempt
    assert (row_due.state, row_due.state_lease_owner, row_due.state_attempts) == ("middle", c.token, 1)
    assert row_due.state_locked_until == clock.now + LEASE
    assert row_due.state_due_at == clock.now
    assert engine.claim(machine, worker_id="b", lease=LEASE, now=clock.now) == []
    assert engine.run_step(c, worker_id="a", now=clock.now, hold=LEASE) is engine.Outcome.DONE
    row_due.refresh_from_db()
    assert (row_due.state, row_due.state_lease_owner, row_due.state_locked_until) == ("done", "", None)
    assert attempts == {"middle": 1}


def test_continued_claim_that_dies_is_claimed_again_as_a_second_attempt(row_due: Job, clock: Clock) -> None:
    seen: list[int] = []

    def middle(row: Job) -> str:
        seen.append(engine.current_step().attempt)
        return "done"

    machine = two_step_machine(middle)
    [dead] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now)
    assert engine.run_step(dead, worker_id="a", now=clock.now, hold=LEASE) is engine.Outcome.CONTINUE
    # Worker "a" dies here, before (or while) running "middle".
    clock.advance(31)
    [again] = engine.claim(machine, worker_id="b", lease=LEASE, now=clock.now)
    assert engine.run_step(dead, worker_id="a", now=clock.now) is engine.Outcome.LOST
    assert engine.run_step(again, worker_id="b", now=clock.now) is engine.Outcome.DONE
    assert seen == [2]


def test_no_continuation_into_the_same_state_or_a_later_due_time(row_due: Job, clock: Clock) -> None:
    machine = engine.Machine(Job, graph_with(lambda row: Next("middle", delay=timedelta(seconds=1)), to=("middle",)))
    [c] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now)
    assert engine.run_step(c, worker_id="a", now=clock.now, hold=LEASE) is engine.Outcome.DONE
    row_due.refresh_from_db()
    assert (row_due.state, row_due.state_lease_owner, row_due.state_attempts) == ("middle", "", 0)

    other = make_row(due_at=clock.now)
    machine = engine.Machine(Job, graph_with(lambda row: "start", to=("start", "done")))
    [c] = engine.claim(machine, worker_id="a", lease=LEASE, now=clock.now)
    assert c.pk == other.pk
    assert engine.run_step(c, worker_id="a", now=clock.now, hold=LEASE) is engine.Outcome.DONE


def test_worker_runs_the_next_step_at_once_and_releases_it_when_stopping(workspace: Workspace, clock: Clock) -> None:
    row = make_row(due_at=clock.now)
    machine = engine.Machine(Job, graph_with(lambda r: "middle", to=("middle",)))
    worker = Worker(worker_id="w", machines=[machine], clock=clock)
    assert worker.run_once() == 2
    row.refresh_from_db()
    assert (row.state, row.state_lease_owner) == ("done", "")

    row = make_row(due_at=clock.now)

    def handler(r: Job) -> str:
        worker.request_stop()
        return "middle"

    worker = Worker(worker_id="w", machines=[engine.Machine(Job, graph_with(handler, to=("middle",)))], clock=clock)
    assert worker.run_once() == 1
    row.refresh_from_db()
    assert (row.state, row.state_lease_owner, row.state_locked_until, row.state_attempts) == ("middle", "", None, 0)
