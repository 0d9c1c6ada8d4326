"""Exactly once on a network with no idempotency key: a real X target driven through the runtime
against recorded X API exchanges (the replay server fails the test on any request it did not expect).

The first ``publishing`` step really sends ``POST /2/tweets`` through the dispatcher, then dies before
its transaction commits (the process is "killed": a ``BaseException`` the engine does not catch). After
the lease expires a worker claims the step again with ``attempt == 2``; the dispatcher asks the X
connector to ``reconcile`` and must not send a second create request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from tests.networks.replay import Replay, ReplayServer, load
from tests.publishing.test_dispatcher_sink import forget_buckets, make_channel

from sokhan.core.models import Membership, User, Workspace
from sokhan.networks.types import PublishResult
from sokhan.publishing import dispatcher, services
from sokhan.publishing.models import PostTarget
from sokhan.runtime import engine
from sokhan.runtime.worker import Worker

pytestmark = pytest.mark.django_db

TEXT = "Crash-safe publishing, once: https://sokhan.example/exactly-once"
POST_ID = "1878000000000000777"


class Killed(BaseException):
    """The worker process dying mid-step: not an ``Exception``, so nothing records it and the step's
    transaction rolls back."""


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> Iterator[None]:
    settings.SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS = 0
    settings.SOKHAN_CHANNELS_RATE = {"*": {"account": [1000, 60], "app": [1000, 60], "concurrency": 16}}
    cache.clear()
    forget_buckets()
    yield
    forget_buckets()


def _run(name: str) -> Iterator[Replay]:
    replay = load(name)
    with ReplayServer(replay):
        yield replay
    replay.verify()


@pytest.fixture
def sent() -> Iterator[Replay]:
    yield from _run("x/reconcile_after_crash")


@pytest.fixture
def not_sent() -> Iterator[Replay]:
    yield from _run("x/reconcile_after_crash_not_sent")


def _schedule(owner: User, workspace: Workspace, replay: Replay) -> PostTarget:
    actor = Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)
    channel = make_channel(workspace, f"{replay.url}/2", network="x", remote_id="2244994945", display_name="X")
    channel.handle = "sokhan_demo"
    channel.save(update_fields=["handle"])
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text=TEXT)])
    services.post_schedule(actor=actor, post_id=post.pk, at=None)
    return PostTarget.objects.get(post=post)


def _worker(clock: Clock) -> Worker:
    machine = next(m for m in engine.machines() if m.model is PostTarget)
    return Worker(worker_id="w", lease_seconds=30, poll_seconds=0, machines=[machine], clock=clock)


def _start_publishing(worker: Worker, clock: Clock) -> engine.Claim:
    machine = worker.machines[0]
    (c,) = engine.claim(machine, worker_id="doomed", lease=timedelta(seconds=30), now=clock())
    assert engine.run_step(c, worker_id="doomed", now=clock()) is engine.Outcome.DONE  # scheduled → publishing
    (c,) = engine.claim(machine, worker_id="doomed", lease=timedelta(seconds=30), now=clock())
    return c


def _killed_after(accepted: list[PublishResult]) -> Any:
    def killed(target: PostTarget, result: PublishResult, now: datetime) -> str:
        accepted.append(result)
        raise Killed

    return killed


def _pass_not_before(monkeypatch: Any) -> None:
    """The wiring the dispatcher is meant to have: the window starts when the target entered publishing."""
    build = dispatcher.build_request
    monkeypatch.setattr(
        dispatcher, "build_request", lambda target: replace(build(target), not_before=target.state_changed_at)
    )


def _start_time(replay: Replay) -> datetime:
    (read,) = [r for r in replay.requests if r["method"] == "GET"]
    return datetime.fromisoformat(read["query"]["start_time"][0].replace("Z", "+00:00"))


@pytest.mark.parametrize("not_before", [True, False], ids=["window-from-publishing", "default-window"])
def test_rerun_after_a_crash_finds_the_post_and_sends_no_second_create(
    owner: User, workspace: Workspace, sent: Replay, monkeypatch: Any, not_before: bool
) -> None:
    if not_before:
        _pass_not_before(monkeypatch)
    clock = Clock()
    worker = _worker(clock)
    target = _schedule(owner, workspace, sent)
    claim = _start_publishing(worker, clock)
    accepted: list[PublishResult] = []
    with monkeypatch.context() as patch, pytest.raises(Killed):
        patch.setattr(dispatcher, "_published", _killed_after(accepted))
        engine.run_step(claim, worker_id="doomed", now=clock())
    assert [r.remote_id for r in accepted] == [POST_ID]  # X made the post…
    target.refresh_from_db()
    assert target.state == "publishing" and target.remote_id == "" and target.attempts == 0  # …nothing committed
    entered_publishing = target.state_changed_at

    assert worker.run_once() == 0  # still leased by the dead worker
    clock.advance(31)
    assert worker.run_once() == 1  # attempt 2: reconcile, not publish

    target.refresh_from_db()
    assert target.state == "published" and target.state_attempts == 0
    assert target.remote_id == POST_ID
    assert target.remote_url == f"https://x.com/sokhan_demo/status/{POST_ID}"
    assert target.published_at == datetime(2026, 1, 10, 9, 0, 1, tzinfo=UTC)
    assert target.attempts == 0  # no publish request was sent by the re-run
    assert [(r["method"], r["path"]) for r in sent.requests] == [
        ("POST", "/2/tweets"),
        ("GET", "/2/users/2244994945/tweets"),
    ]
    assert _start_time(sent) <= entered_publishing  # the window covers the first attempt
    if not_before:
        assert _start_time(sent) == entered_publishing - timedelta(minutes=2)
    assert worker.run_once() == 0


def test_rerun_after_a_crash_before_sending_publishes_once(owner: User, workspace: Workspace, not_sent: Replay) -> None:
    clock = Clock()
    worker = _worker(clock)
    target = _schedule(owner, workspace, not_sent)
    _start_publishing(worker, clock)  # the doomed worker claims publishing and dies before sending
    clock.advance(31)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "published" and target.remote_id == POST_ID and target.attempts == 1
    assert [(r["method"], r["path"]) for r in not_sent.requests] == [
        ("GET", "/2/users/2244994945/tweets"),
        ("POST", "/2/tweets"),
    ]
