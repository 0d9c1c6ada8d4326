"""Injected faults between real ``sokhan worker`` processes and the loopback sink.

A fault-injecting proxy (:mod:`tests.publishing.faultproxy`) sits in front of the sink: chosen
targets get 5xx answers, 429 with ``Retry-After``, a connection held silent past the client timeout
*before* the request is forwarded, and one held silent *after* the sink acted on it ("sent, outcome
unknown"). Every target must end published exactly once within its retry budget, or be reported
(``outcome_unknown`` with a readable reason) — never posted twice. Mastodon re-sends with the same
``Idempotency-Key``; a Telegram-shaped Bot API has no key, so "sent, outcome unknown" there must go
to ``outcome_unknown`` for a person to check.

The in-process tests at the end pin the dispatcher's rules with a hand-driven clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from tests.publishing.faultproxy import Fault, FaultProxy, FaultProxyServer, any_key, botapi_key, mastodon_key
from tests.publishing.workers import start_worker as _start_worker
from tests.publishing.workers import stop_workers, wait_for

from sokhan.channels.models import Channel
from sokhan.core.models import Membership, User, Workspace
from sokhan.ops.bench_sink import Sink, SinkServer, forget_buckets, make_channel
from sokhan.publishing import dispatcher, services
from sokhan.publishing.models import PostTarget
from sokhan.runtime import engine
from sokhan.runtime.worker import Worker

CLIENT_TIMEOUT = 20.0  # the connectors' request timeout
HOLD = CLIENT_TIMEOUT + 3  # the proxy stays silent this long: past the client's timeout
RETRY_BASE = 1.0  # SOKHAN_PUBLISH_RETRY_BASE_SECONDS for the workers: backoff 1 s, 2 s, 4 s…


def schedule(actor: Membership, channel: Channel, text: str, at: datetime | None = None) -> PostTarget:
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text=text)])
    services.post_schedule(actor=actor, post_id=post.pk, at=at or timezone.now() - timedelta(seconds=1))
    return PostTarget.objects.get(post=post)


def start_worker(name: str) -> Any:
    # The lease outlives a held connection, so a slow answer is a timeout, not a lost lease.
    return _start_worker(
        name,
        lease_seconds=HOLD + 20,
        poll_seconds=0.1,
        env={"SOKHAN_PUBLISH_RETRY_BASE_SECONDS": str(RETRY_BASE), "SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS": "0"},
    )


def check_retry_timing(proxy: FaultProxy, key: str, faults: list[Fault]) -> None:
    """The faults were applied in order, and after a 429 the next request waited at least its
    Retry-After, after a 5xx at least the first backoff step."""
    entries = proxy.entries(key)
    assert [e.fault for e in entries] == [f.kind for f in faults] + [""]
    for fault, before, after in zip(faults, entries, entries[1:], strict=False):
        gap = after.arrived - before.answered
        if fault.kind == "429":
            assert gap >= fault.seconds, (key, gap)  # Retry-After honoured
        elif fault.kind == "503":
            assert gap >= RETRY_BASE, (key, gap)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_injected_faults_publish_exactly_once_or_are_reported(owner: User, workspace: Workspace) -> None:
    forget_buckets()
    cache.clear()
    actor = Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)
    with SinkServer() as sink, FaultProxyServer(sink.url, key_of=any_key(mastodon_key, botapi_key)) as proxy:
        mastodon = [
            make_channel(workspace, proxy.url, remote_id=str(i), display_name=f"Sink {i}", target=f"m{i}")
            for i in (1, 2)
        ]
        bot = make_channel(workspace, proxy.url, network="telegram", target="@sokhan_sink", remote_id="bot")
        targets = [schedule(actor, mastodon[i % 2], f"fault test {i}") for i in range(20)]
        bot_targets = [schedule(actor, bot, f"bot fault test {i}") for i in range(3)]
        plan: dict[str, list[Fault]] = {
            targets[0].idempotency_key: [Fault("503")],
            targets[1].idempotency_key: [Fault("503"), Fault("503")],
            targets[2].idempotency_key: [Fault("429", 2)],
            targets[3].idempotency_key: [Fault("429", 3)],
            targets[4].idempotency_key: [Fault("hold_before", HOLD)],
            targets[5].idempotency_key: [Fault("hold_after", HOLD)],
            targets[6].idempotency_key: [Fault("503"), Fault("429", 2)],
        }
        for key, faults in plan.items():
            proxy.add(key, *faults)
        # The Bot API has no idempotency key: the proxy knows its requests by their text.
        proxy.add("bot fault test 0", Fault("hold_after", HOLD))  # sent, outcome unknown
        proxy.add("bot fault test 1", Fault("503"))  # refused for sure: safe to send again

        started = time.monotonic()
        workers = {name: start_worker(name) for name in ("w1", "w2", "w3")}
        try:
            active = ("scheduled", "publishing")
            wait_for(
                lambda: not PostTarget.objects.filter(state__in=active).exists(),
                240,
                "every target terminal",
                every=0.2,
            )
            elapsed = time.monotonic() - started
        finally:
            outputs = stop_workers(workers)
        # No step failed unexpectedly. On SQLite one writer at a time: a step that holds the write
        # lock through a held connection can make another worker's step give up waiting ("database
        # is locked"); that step is retried later, which the exactly-once checks below cover.
        failed = [
            line
            for out in outputs.values()
            for line in out.splitlines()
            if "step failed" in line and not (connection.vendor == "sqlite" and "database is locked" in line)
        ]
        assert failed == [], outputs

        rows = {t.idempotency_key: t for t in PostTarget.objects.filter(channel__in=mastodon)}
        assert len(rows) == 20
        for key, row in rows.items():
            faults = plan.get(key, [])
            assert row.state == "published", (row.state, row.error_code, row.last_error)
            assert sink.created[key] == 1  # exactly once on the server
            status = sink.statuses[key]
            assert (row.remote_id, row.remote_url) == (status["id"], status["url"])
            sends = len(proxy.entries(key))
            assert sends == len(faults) + 1, (key, faults, sends)  # one send per fault, within the budget
            # ``attempts`` also counts waits for the account's own bucket (blocked by a 429 of another post).
            assert len(faults) + 1 <= row.attempts < dispatcher.MAX_SENDS
            assert row.error_code == "" and row.last_error == ""
            check_retry_timing(proxy, key, faults)
        # The sink saw the held-after request (and created the status) but not the held-before one.
        assert sink.requests[targets[5].idempotency_key] == 2 and sink.requests[targets[4].idempotency_key] == 1
        assert sink.duplicates() == {}

        unknown, refused, plain = (PostTarget.objects.get(pk=t.pk) for t in bot_targets)
        assert unknown.state == "outcome_unknown" and unknown.error_code == "outcome_unknown"
        assert "may or may not have gone out" in unknown.last_error and "Telegram" in unknown.last_error
        assert sink.messages["bot fault test 0"] == 1  # it did go out, once; nobody sent it again
        assert len(proxy.entries("bot fault test 0")) == 1
        for row, text in ((refused, "bot fault test 1"), (plain, "bot fault test 2")):
            assert row.state == "published", (row.state, row.last_error)
            assert sink.messages[text] == 1 and row.remote_id
        assert len(proxy.entries("bot fault test 1")) == 2
        assert all(n == 1 for n in sink.messages.values())
        print(f"faults: {len(rows) + 3} targets terminal in {elapsed:.1f} s, 0 duplicates")


# ------------------------------------------------------------------- the rules, with a hand-driven clock


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def sink() -> Iterator[Sink]:
    with SinkServer() as s:
        yield s


@pytest.fixture
def rules(settings: Any) -> Iterator[None]:
    settings.SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS = 0
    settings.SOKHAN_CHANNELS_RATE = {"*": {"account": [1000, 60], "app": [1000, 60], "concurrency": 16}}
    settings.SOKHAN_PUBLISH_RETRY_BASE_SECONDS = 5
    cache.clear()
    forget_buckets()
    yield
    forget_buckets()


def in_process_worker(clock: Clock) -> Worker:
    machine = next(m for m in engine.machines() if m.model is PostTarget)
    return Worker(worker_id="t", lease_seconds=30, poll_seconds=0, machines=[machine], clock=clock)


@pytest.mark.django_db
@pytest.mark.usefixtures("rules")
def test_outcome_unknown_on_an_idempotent_network_resends_the_same_key(
    owner: User, workspace: Workspace, sink: Sink
) -> None:
    actor = Membership.objects.get(user=owner, workspace=workspace)
    clock = Clock()
    worker = in_process_worker(clock)
    target = schedule(actor, make_channel(workspace, sink.url), "سلام", at=clock.now - timedelta(seconds=1))
    sink.script.append(("504",))  # Mastodon: "HTTP 504 after sending", the outcome is unknown
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "publishing" and target.error_code == dispatcher.RETRYING_UNCONFIRMED
    wait = (target.state_due_at - clock.now).total_seconds()  # type: ignore[operator]
    assert 5 <= wait <= 6.5  # SOKHAN_PUBLISH_RETRY_BASE_SECONDS, with jitter
    clock.advance(wait)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "published" and target.attempts == 2 and target.error_code == ""
    assert sink.requests[target.idempotency_key] == 2 and sink.created[target.idempotency_key] == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("rules")
def test_giving_up_after_an_unconfirmed_send_is_outcome_unknown_not_failed(
    owner: User, workspace: Workspace, sink: Sink
) -> None:
    actor = Membership.objects.get(user=owner, workspace=workspace)
    clock = Clock()
    worker = in_process_worker(clock)
    target = schedule(actor, make_channel(workspace, sink.url), "سلام", at=clock.now - timedelta(seconds=1))
    sink.script += [("504",)] + [("503",)] * (dispatcher.MAX_SENDS - 1)
    for _ in range(dispatcher.MAX_SENDS + 2):
        clock.advance(4000)  # past any backoff
        worker.run_once()
    target.refresh_from_db()
    assert sink.requests[target.idempotency_key] == dispatcher.MAX_SENDS
    assert target.state == "outcome_unknown" and target.error_code == "gave_up_unconfirmed"
    assert "Check and resolve" in target.last_error and target.attempts == dispatcher.MAX_SENDS
    assert sink.created[target.idempotency_key] == 0


@pytest.mark.django_db
@pytest.mark.usefixtures("rules")
def test_retry_after_counts_from_the_answer_not_from_the_step_start(
    owner: User, workspace: Workspace, sink: Sink
) -> None:
    """A 429 that comes back late still waits the full Retry-After after it came back."""
    actor = Membership.objects.get(user=owner, workspace=workspace)
    target = schedule(actor, make_channel(workspace, sink.url), "سلام", at=timezone.now() - timedelta(seconds=60))
    sink.script.append(("429", 3))
    machine = next(m for m in engine.machines() if m.model is PostTarget)
    step_start = timezone.now() - timedelta(seconds=10)  # as if the request had taken 10 s
    worker = Worker(worker_id="t", lease_seconds=30, poll_seconds=0, machines=[machine], clock=lambda: step_start)
    worker.run_once()
    answered = timezone.now()
    target.refresh_from_db()
    assert target.state == "publishing" and "rate limited" in target.last_error
    assert target.state_due_at is not None and target.state_due_at >= answered + timedelta(seconds=3) - timedelta(
        milliseconds=500
    )
