"""Two workers collecting the same channel at once (PostgreSQL, real row locks): the network is asked
once and each due step is stored once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections, transaction
from tests.analytics.helpers import mastodon_account, mastodon_channel, mastodon_status, published, recorded
from tests.networks.replay import ReplayServer

from sokhan.analytics.collect import CollectResult, collect_channel, plan
from sokhan.analytics.models import AccountSnapshot, PostSnapshot
from sokhan.channels.models import Channel
from sokhan.core.models import Workspace

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent workers need PostgreSQL"),
]

NOW = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)


def test_two_runs_at_once_collect_each_step_once(workspace: Workspace) -> None:
    # Exactly one account call and one status call are recorded: a second request would fail the replay.
    replay = recorded("once", mastodon_account(), mastodon_status("110001", likes=7, replies=2, reblogs=3))
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        target = published(channel, "110001", NOW - timedelta(hours=2))
        plan(NOW)
        start = threading.Barrier(2)
        results: list[CollectResult] = []
        failures: list[BaseException] = []

        def work() -> None:
            try:
                mine = Channel.objects.select_related("workspace").get(pk=channel.pk)
                start.wait()
                with transaction.atomic():  # as in a job: the run commits as a whole
                    results.append(collect_channel(mine, now=NOW))
            except BaseException as error:  # reported by the main thread
                failures.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures, failures
    replay.verify()
    assert sorted((r.account, r.posts) for r in results) == [(False, 0), (True, 1)]
    assert AccountSnapshot.objects.count() == 1
    assert PostSnapshot.objects.filter(target=target).count() == 1
