"""The dispatcher driven by an in-process worker with a hand-driven clock, publishing through the
real Mastodon connector to the loopback sink (see test_dispatcher_sink.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from django.core.cache import cache
from tests.publishing.test_dispatcher_sink import Sink, SinkServer, forget_buckets, make_channel

from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.networks import registry
from sokhan.networks.connectors.mastodon import MastodonConnector
from sokhan.networks.types import Capability, PublishRequest, PublishResult
from sokhan.publishing import services
from sokhan.publishing.models import PostTarget
from sokhan.runtime import engine
from sokhan.runtime.worker import Worker


@pytest.fixture(name="sink")
def sink_fixture() -> Iterator[Sink]:
    with SinkServer() as s:
        yield s


pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        # Ahead of real time, so posts scheduled "now" by the test are already due.
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=30)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ReconcilingMastodon(MastodonConnector):
    """Mastodon without trusting its Idempotency-Key, but able to look for an earlier post: the
    shape of a connector for a network with no idempotency (the dispatcher must reconcile)."""

    key = "mastodon_reconcile"
    idempotent_publish = False
    capabilities = MastodonConnector.capabilities | {Capability.RECONCILE}

    def reconcile(self, request: PublishRequest) -> PublishResult | None:
        for status in self._call(lambda: self.client.account_statuses(self.account.remote_id, limit=40)):
            if request.text and request.text in str(status.get("content") or ""):
                return PublishResult(remote_id=str(status["id"]), url=str(status.get("url") or ""))
        return None


@pytest.fixture
def reconciling() -> Iterator[None]:
    """Registered only for the test that needs it (the connect page lists every connector)."""
    registry.register(ReconcilingMastodon)
    yield
    registry._registry.pop(ReconcilingMastodon.key, None)


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> Iterator[None]:
    settings.SOKHAN_CHANNELS_MAX_INLINE_WAIT_SECONDS = 0
    settings.SOKHAN_CHANNELS_RATE = {"*": {"account": [1000, 60], "app": [1000, 60], "concurrency": 16}}
    cache.clear()
    forget_buckets()
    yield
    forget_buckets()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(clock: Clock) -> Worker:
    machine = next(m for m in engine.machines() if m.model is PostTarget)
    return Worker(worker_id="t", lease_seconds=30, poll_seconds=0, machines=[machine], clock=clock)


@pytest.fixture
def actor(owner: User, workspace: Workspace) -> Membership:
    return Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)


@pytest.fixture
def channel(sink: Sink, workspace: Workspace) -> Channel:
    return make_channel(workspace, sink.url)


def schedule(
    actor: Membership, channel: Channel, text: str = "سلام دنیا #سخن", at: datetime | None = None
) -> PostTarget:
    post = services.post_create(actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text=text)])
    services.post_schedule(actor=actor, post_id=post.pk, at=at)
    return PostTarget.objects.get(post=post)


def test_happy_path_publishes_once_through_the_real_connector(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
) -> None:
    target = schedule(actor, channel)
    key = target.idempotency_key
    assert target.state == "scheduled"
    assert worker.run_once() == 2  # scheduled → publishing → published
    target.refresh_from_db()
    assert target.state == "published" and target.idempotency_key == key
    assert target.remote_id == sink.statuses[key]["id"]
    assert target.remote_url == sink.statuses[key]["url"] and target.published_at is not None
    assert sink.requests[key] == 1 and sink.created[key] == 1
    assert worker.run_once() == 0
    actions = set(AuditEvent.objects.filter(workspace=actor.workspace).values_list("action", flat=True))
    assert {"post.create", "post.schedule"} <= actions


def test_future_post_waits_for_its_time(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
) -> None:
    target = schedule(actor, channel, at=clock.now + timedelta(hours=1))
    assert worker.run_once() == 0
    clock.advance(3601)
    assert worker.run_once() == 2
    target.refresh_from_db()
    assert target.state == "published" and sink.created[target.idempotency_key] == 1


def test_transient_and_429_retry_after_are_retried_and_publish_once(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
) -> None:
    sink.script += [("503",), ("429", 1)]
    target = schedule(actor, channel)
    key = target.idempotency_key
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "publishing" and target.error_code == "retrying" and "503" in target.last_error
    assert target.state_due_at is not None and target.state_due_at >= clock.now + timedelta(seconds=29)
    clock.advance(40)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "publishing" and "rate limited" in target.last_error
    wait = (target.state_due_at - clock.now).total_seconds()  # type: ignore[operator]
    assert 0.5 <= wait <= 2  # Retry-After honoured
    time.sleep(1.2)  # the account's bucket saw Retry-After in real time too
    clock.advance(2)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "published" and target.attempts == 3
    assert sink.requests[key] == 3 and sink.created[key] == 1


def test_dropped_connection_is_retried_with_the_same_key_and_not_duplicated(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
) -> None:
    sink.script.append(("drop",))  # the sink creates the status, then hangs up
    target = schedule(actor, channel)
    worker.run_once()
    clock.advance(3600)
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "published"
    assert sink.requests[target.idempotency_key] == 2 and sink.created[target.idempotency_key] == 1
    assert target.remote_id == sink.statuses[target.idempotency_key]["id"]


def test_rejected_fails_fast_with_the_networks_reason(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
) -> None:
    sink.script.append(("422", "Text character limit of 500 exceeded"))
    target = schedule(actor, channel)
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "failed" and target.error_code == "rejected"
    assert "character limit of 500 exceeded" in target.last_error
    clock.advance(86400)
    assert worker.run_once() == 0 and sink.requests[target.idempotency_key] == 1


def test_auth_expired_fails_and_the_channel_needs_reconnecting(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
) -> None:
    sink.script.append(("401",))
    target = schedule(actor, channel)
    worker.run_once()
    target.refresh_from_db()
    channel.refresh_from_db()
    assert target.state == "failed" and target.error_code == "needs_reconnect"
    assert "Reconnect" in target.last_error
    assert channel.status == ChannelStatus.NEEDS_RECONNECT


def test_outcome_unknown_waits_for_a_person_then_retry_publishes_once(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
    monkeypatch: Any,
) -> None:
    # A network without idempotency (an idempotent one re-sends the same key: see test_faults.py).
    monkeypatch.setattr(MastodonConnector, "idempotent_publish", False)
    sink.script.append(("504",))
    target = schedule(actor, channel)
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "outcome_unknown" and target.state_due_at is None
    assert "Check and resolve" in target.last_error
    clock.advance(86400)
    assert worker.run_once() == 0  # never re-posted on its own
    services.target_resolve(actor=actor, post_target_id=target.pk, outcome="retry")
    clock.advance(1)
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "published" and sink.created[target.idempotency_key] == 1


def test_pause_holds_due_posts_and_resume_publishes_them(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
) -> None:
    services.publishing_pause(actor=actor, reason="breaking news")
    target = schedule(actor, channel)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "scheduled" and target.state_due_at > clock.now  # type: ignore[operator]
    clock.advance(120)
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "scheduled" and not sink.requests  # held, not failed, nothing sent
    services.publishing_resume(actor=actor)
    target.refresh_from_db()
    assert target.state_due_at is not None and target.state_due_at <= clock.now
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "published" and sink.created[target.idempotency_key] == 1
    actions = list(AuditEvent.objects.filter(action__startswith="publishing.").values_list("action", flat=True))
    assert sorted(actions) == ["publishing.pause", "publishing.resume"]


def _crash_mid_publish(target: PostTarget, worker: Worker, clock: Clock) -> None:
    """Run the scheduled step, then claim publishing and 'die' holding the lease."""
    machine = worker.machines[0]
    (c,) = engine.claim(machine, worker_id="doomed", lease=timedelta(seconds=30), now=clock())
    assert engine.run_step(c, worker_id="doomed", now=clock()) is engine.Outcome.DONE
    (c,) = engine.claim(machine, worker_id="doomed", lease=timedelta(seconds=30), now=clock())
    target.refresh_from_db()
    assert target.state == "publishing" and target.state_attempts == 1
    assert worker.run_once() == 0  # leased by the dead worker
    clock.advance(31)


def test_rerun_after_crash_with_idempotent_network_resends_same_key(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
) -> None:
    target = schedule(actor, channel)
    _crash_mid_publish(target, worker, clock)
    first, _ = sink.status(target.idempotency_key, target.text)  # what the dead worker's request did
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "published" and target.remote_id == first["id"]
    assert sink.created[target.idempotency_key] == 1 and sink.requests[target.idempotency_key] == 2


def test_rerun_after_crash_without_idempotency_or_reconcile_goes_to_outcome_unknown(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    clock: Clock,
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(MastodonConnector, "idempotent_publish", False)
    target = schedule(actor, channel)
    _crash_mid_publish(target, worker, clock)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "outcome_unknown" and target.error_code == "interrupted"
    assert not sink.requests  # nothing re-posted blindly


@pytest.mark.usefixtures("reconciling")
@pytest.mark.parametrize("already_posted", [True, False])
def test_rerun_after_crash_reconciles_first(
    actor: Membership,
    workspace: Workspace,
    sink: Sink,
    worker: Worker,
    clock: Clock,
    already_posted: bool,
) -> None:
    channel = make_channel(workspace, sink.url, network=ReconcilingMastodon.key)
    target = schedule(actor, channel, text="یک پست بی‌کلید")
    _crash_mid_publish(target, worker, clock)
    if already_posted:
        sink.status(target.idempotency_key, target.text)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "published"
    assert sink.created[target.idempotency_key] == 1
    assert sink.requests[target.idempotency_key] == 1  # found by reconcile, or sent once after it


@pytest.mark.usefixtures("reconciling")
def test_a_rate_limited_reconcile_asks_again_later_and_never_posts_blindly(
    actor: Membership, workspace: Workspace, sink: Sink, worker: Worker, clock: Clock
) -> None:
    channel = make_channel(workspace, sink.url, network=ReconcilingMastodon.key)
    target = schedule(actor, channel, text="پستی که شاید رفته باشد")
    _crash_mid_publish(target, worker, clock)
    sink.status(target.idempotency_key, target.text)  # the crashed send did go out
    sink.read_script.append(("429", "1"))
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "publishing" and target.error_code == "reconciling"
    assert target.state_due_at is not None and target.state_due_at > clock.now
    assert worker.run_once() == 0  # it waits before asking again
    time.sleep(1.2)  # the account's rate-limit bucket (real time) refills after the network's Retry-After
    clock.now = target.state_due_at + timedelta(seconds=1)
    assert worker.run_once() == 1
    target.refresh_from_db()
    assert target.state == "published" and target.remote_id == sink.statuses[target.idempotency_key]["id"]
    assert sink.requests[target.idempotency_key] == 1 and sink.created[target.idempotency_key] == 1


def test_a_failed_post_notifies_its_author_and_publishers(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
    make_member: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    from sokhan.core.permissions import Role
    from sokhan.notifications.models import Notification

    publisher = make_member(Role.MANAGER)
    viewer = make_member(Role.VIEWER)
    sink.script.append(("422", "Text character limit of 500 exceeded"))
    target = schedule(actor, channel)
    with django_capture_on_commit_callbacks(execute=True):
        worker.run_once()
    target.refresh_from_db()
    assert target.state == "failed"
    told = set(Notification.objects.filter(kind="publish.failed").values_list("user_id", flat=True))
    assert told == {actor.user_id, publisher.pk}  # the author and who may publish; not a viewer
    assert viewer.pk not in told
    assert sorted(m.to[0] for m in mailoutbox) == sorted([actor.user.email, publisher.email])
    assert "character limit" in mailoutbox[0].body


def test_target_of_a_paused_channel_is_held(
    actor: Membership,
    channel: Channel,
    sink: Sink,
    worker: Worker,
) -> None:
    target = schedule(actor, channel)
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.PAUSED)
    worker.run_once()
    target.refresh_from_db()
    assert target.state == "scheduled" and not sink.requests


class _Unused:
    names: ClassVar[list[str]] = []
