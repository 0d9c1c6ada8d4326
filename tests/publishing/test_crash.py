"""Real ``sokhan worker`` processes publish 50 targets through the real Mastodon connector to the
loopback sink; one worker is SIGKILLed while its request is inside the sink. Afterwards every
target is published exactly once per idempotency key: none lost, none duplicated."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from tests.publishing.test_dispatcher_sink import Sink, SinkServer, forget_buckets, make_channel
from tests.publishing.workers import start_worker, wait_for

from sokhan.core.models import Membership, User, Workspace
from sokhan.publishing import services
from sokhan.publishing.models import PostTarget


@pytest.fixture(name="sink")
def sink_fixture() -> Iterator[Sink]:
    with SinkServer() as s:
        yield s


pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

N = 50


def test_sigkill_mid_publish_loses_nothing_and_duplicates_nothing(
    owner: User,
    workspace: Workspace,
    sink: Sink,
) -> None:
    forget_buckets()
    actor = Membership.objects.select_related("workspace", "user").get(user=owner, workspace=workspace)
    channel = make_channel(workspace, sink.url)
    due = timezone.now() - timedelta(seconds=1)
    for i in range(N):
        post = services.post_create(
            actor=actor, targets=[services.TargetInput(channel_id=channel.pk, text=f"پست شماره {i}")]
        )
        services.post_schedule(actor=actor, post_id=post.pk, at=due)
    keys = set(PostTarget.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == N

    sink.stall_once = True  # the first post is created remotely, then its answer never comes
    workers = {name: start_worker(name) for name in ("w1", "w2", "w3")}
    try:
        wait_for(sink.stalled.is_set, 30, "a worker to be inside a publish request")
        stalled_key = sink.stalled_key
        holder = PostTarget.objects.get(idempotency_key=stalled_key).state_lease_owner.split(":")[0]
        workers[holder].send_signal(signal.SIGKILL)
        workers[holder].wait(10)
        sink.release.set()  # the dead worker's half-open request may now finish into nowhere

        def done() -> bool:
            return PostTarget.objects.filter(state="published").count() == N

        wait_for(done, 90, f"all {N} targets published")
        for name, proc in workers.items():
            if name != holder:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(20) == 0, proc.stdout.read() if proc.stdout else ""
    finally:
        sink.release.set()
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()

    rows = list(PostTarget.objects.all())
    assert len(rows) == N and {r.state for r in rows} == {"published"}  # 0 lost
    assert sink.duplicates() == {}  # 0 duplicates: one status per key
    assert set(sink.created) == keys and all(sink.created[k] == 1 for k in keys)
    assert all(r.remote_id == sink.statuses[r.idempotency_key]["id"] for r in rows)
    # The killed worker's post was sent again, with the same key, after its lease ran out.
    assert sink.requests[stalled_key] == 2
    rescued = next(r for r in rows if r.idempotency_key == stalled_key)
    assert rescued.attempts == 1  # the dead attempt's writes rolled back; one committed send
