"""Collection through the real connectors against recorded exchanges: what is stored, missing vs
zero, the schedule moving on, crash safety, and one channel's errors not stopping the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from tests.analytics.helpers import (
    FACEBOOK_PAGE,
    cassette,
    facebook_channel,
    mastodon_account,
    mastodon_channel,
    mastodon_gone,
    mastodon_status,
    published,
    recorded,
)
from tests.networks.replay import ReplayServer

from sokhan.analytics.collect import NOT_RETURNED, collect_channel, due_channels, plan
from sokhan.analytics.models import AccountDaily, AccountSnapshot, ChannelCollection, PostCollection, PostSnapshot
from sokhan.analytics.schedule import DONE
from sokhan.channels.models import Channel, ChannelStatus
from sokhan.core.models import Workspace
from sokhan.metrics.definitions import ACCOUNT_DAILY
from sokhan.networks.types import Credentials
from sokhan.ops.bench_sink import make_channel

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)  # 15:30 in Tehran (the workspace's zone)


def snapshot_values(target_id: int) -> list[tuple[int, int | None, int | None, int | None, int | None]]:
    rows = PostSnapshot.objects.filter(target_id=target_id).order_by("step")
    return list(rows.values_list("step", "likes", "comments", "shares", "views"))


def test_first_run_takes_the_account_and_due_posts_through_the_connector(workspace: Workspace) -> None:
    replay = recorded(
        "mastodon collect",
        mastodon_account(followers=120),
        mastodon_status("110001", likes=7, replies=2, reblogs=3),
        mastodon_status("110002", likes=0, replies=0, reblogs=0),
    )
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        old = published(channel, "110001", NOW - timedelta(hours=2))
        quiet = published(channel, "110002", NOW - timedelta(hours=1, minutes=5))
        young = published(channel, "110003", NOW - timedelta(minutes=10))  # nothing due yet
        assert plan(NOW) == [channel.pk]
        result = collect_channel(channel, now=NOW)
    replay.verify()
    assert (result.account, result.posts, result.gaps, result.error) == (True, 2, 0, "")

    account = AccountSnapshot.objects.get(channel=channel)
    assert (account.followers, account.following, account.posts) == (120, 15, 42)
    # Mastodon gives no reach, impressions or views: missing, never 0.
    assert (account.reach, account.impressions, account.views) == (None, None, None)

    assert snapshot_values(old.pk) == [(0, 7, 2, 3, None)]
    assert snapshot_values(quiet.pk) == [(0, 0, 0, 0, None)]  # real zeros stay zeros
    snap = PostSnapshot.objects.get(target=old)
    assert (snap.saves, snap.clicks, snap.reach, snap.impressions, snap.taken_at) == (None, None, None, None, NOW)
    assert not PostSnapshot.objects.filter(target=young).exists()

    rows = {row.target_id: row for row in PostCollection.objects.all()}
    assert (rows[old.pk].step, rows[old.pk].due_at) == (1, old.published_at + timedelta(hours=6))
    assert (rows[young.pk].step, rows[young.pk].due_at) == (0, young.published_at + timedelta(hours=1))

    state = ChannelCollection.objects.get(channel=channel)
    assert state.hold_until is None and state.last_ok_at == NOW and state.failures == 0
    # Next account snapshot: 18:00 Tehran, the next point of the 6-hour grid.
    assert state.account_due_at == datetime(2025, 11, 15, 14, 30, tzinfo=UTC)
    assert due_channels(NOW) == []


def test_daily_rollup_keeps_the_last_value_and_counts_what_was_missing(workspace: Workspace) -> None:
    replay = recorded("account twice", mastodon_account(followers=120), mastodon_account(followers=125))
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        plan(NOW)
        collect_channel(channel, now=NOW)
        later = NOW + timedelta(hours=3)
        collect_channel(channel, now=later)
    replay.verify()
    daily = AccountDaily.objects.get(channel=channel)
    assert daily.day.isoformat() == "2025-11-15"
    assert (daily.followers, daily.samples, daily.definition_version) == (125, 2, ACCOUNT_DAILY.version)
    assert (daily.reach, daily.impressions, daily.views) == (None, None, None)
    assert daily.missing == {"reach": 2, "impressions": 2, "views": 2}


def test_a_deleted_post_is_a_gap_and_does_not_hold_up_the_others(workspace: Workspace) -> None:
    # The batch fails on the deleted status (Mastodon answers 404), so each id is asked alone.
    replay = recorded(
        "mastodon deleted",
        mastodon_status("110001", likes=7, replies=2, reblogs=3),
        mastodon_gone("110002"),
        mastodon_status("110001", likes=7, replies=2, reblogs=3),
        mastodon_gone("110002"),
        mastodon_status("110003", likes=1, replies=0, reblogs=0),
    )
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        ChannelCollection.objects.create(workspace=workspace, channel=channel)  # no account snapshot due
        targets = [published(channel, rid, NOW - timedelta(hours=2)) for rid in ("110001", "110002", "110003")]
        plan(NOW)
        result = collect_channel(channel, now=NOW)
    replay.verify()
    assert (result.posts, result.gaps, result.error) == (2, 1, "")
    assert snapshot_values(targets[0].pk) == [(0, 7, 2, 3, None)]
    assert snapshot_values(targets[1].pk) == []
    assert snapshot_values(targets[2].pk) == [(0, 1, 0, 0, None)]
    gone = PostCollection.objects.get(target=targets[1])
    assert gone.step == 1 and "not found" in gone.last_error  # the 6h step is still tried


def test_facebook_absent_shares_are_missing_and_true_zeros_are_zero(workspace: Workspace) -> None:
    replay = recorded("facebook collect", cassette("facebook/account_metrics"), cassette("facebook/post_metrics"))
    with ReplayServer(replay) as server:
        channel = facebook_channel(workspace, server.url)
        first = published(channel, f"{FACEBOOK_PAGE}_1", NOW - timedelta(hours=1, minutes=30))
        second = published(channel, f"{FACEBOOK_PAGE}_2", NOW - timedelta(hours=1, minutes=20))
        plan(NOW)
        result = collect_channel(channel, now=NOW)
    replay.verify()  # both posts in one request: the batch
    assert (result.account, result.posts, result.error) == (True, 2, "")
    assert AccountSnapshot.objects.get(channel=channel).followers == 5400
    assert snapshot_values(first.pk) == [(0, 42, 7, 3, None)]
    # Graph sent no ``shares`` for the second post: NULL in the table, not 0; its 0 likes are real.
    assert snapshot_values(second.pk) == [(0, 0, 0, None, None)]
    assert PostSnapshot.objects.filter(target=second, shares__isnull=True).count() == 1


def test_instagram_insights_withheld_for_few_viewers_are_stored_as_missing(workspace: Workspace) -> None:
    # Instagram refuses insights of a media with too few viewers ("(#10) Not enough viewers"): the
    # snapshot is there (the step was collected) with every number missing, none of them 0.
    replay = recorded("instagram", cassette("instagram/account_metrics"), cassette("instagram/post_metrics"))
    with ReplayServer(replay) as server:
        channel = make_channel(
            workspace,
            f"{server.url}/v25.0",
            network="instagram",
            remote_id="17841405822304914",
            credentials=Credentials(access_token="IGQ-token"),
        )
        seen = published(channel, "17920238422030506", NOW - timedelta(hours=2))
        few = published(channel, "17920238422030509", NOW - timedelta(hours=1, minutes=30))
        plan(NOW)
        result = collect_channel(channel, now=NOW)
    replay.verify()
    assert (result.account, result.posts, result.gaps, result.error) == (True, 2, 0, "")
    account = AccountSnapshot.objects.get(channel=channel)
    assert (account.followers, account.following, account.posts, account.reach) == (8800, 120, 340, None)
    fields = ("likes", "comments", "shares", "saves", "clicks", "views", "reach", "impressions")
    assert PostSnapshot.objects.filter(target=seen).values_list(*fields).get() == (
        150,
        12,
        9,
        30,
        None,
        2500,
        1200,
        None,
    )
    assert PostSnapshot.objects.filter(target=few).values_list(*fields).get() == (None,) * 8


def test_a_post_not_returned_by_the_network_is_a_gap(workspace: Workspace) -> None:
    # X answers only the posts it can show (the missing one is in body["errors"]).
    replay = recorded("x", cassette("x/post_metrics"))
    with ReplayServer(replay) as server:
        channel = make_channel(
            workspace,
            f"{server.url}/2",
            network="x",
            remote_id="2244994945",
            credentials=Credentials(access_token="x-access"),
        )
        ChannelCollection.objects.create(workspace=workspace, channel=channel)
        found = published(channel, "1500", NOW - timedelta(hours=2))
        lost = published(channel, "404", NOW - timedelta(hours=2))
        plan(NOW)
        result = collect_channel(channel, now=NOW)
    replay.verify()
    assert (result.posts, result.gaps) == (1, 1)
    assert PostSnapshot.objects.filter(target=found).count() == 1
    assert PostCollection.objects.get(target=lost).last_error == NOT_RETURNED


def test_collecting_a_step_twice_keeps_one_snapshot(workspace: Workspace) -> None:
    replay = recorded(
        "twice",
        mastodon_status("110001", likes=7, replies=2, reblogs=3),
        mastodon_status("110001", likes=9, replies=2, reblogs=3),
    )
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        ChannelCollection.objects.create(workspace=workspace, channel=channel)
        target = published(channel, "110001", NOW - timedelta(hours=2))
        plan(NOW)
        collect_channel(channel, now=NOW)
        # A second worker that saw the row due before the first committed runs the same step again.
        PostCollection.objects.filter(target=target).update(step=0, due_at=NOW - timedelta(hours=1))
        again = collect_channel(channel, now=NOW + timedelta(minutes=1))
    replay.verify()
    assert again.posts == 1  # it asked the network, but the unique (target, step) kept the first
    assert snapshot_values(target.pk) == [(0, 7, 2, 3, None)]
    assert PostCollection.objects.get(target=target).step == 1


class Crash(Exception):
    pass


def test_a_run_that_dies_before_committing_stores_nothing_and_the_next_run_collects(workspace: Workspace) -> None:
    replay = recorded(
        "crash",
        mastodon_account(),
        mastodon_status("110001", likes=7, replies=2, reblogs=3),
        mastodon_account(),
        mastodon_status("110001", likes=8, replies=2, reblogs=3),
    )
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        target = published(channel, "110001", NOW - timedelta(hours=2))
        plan(NOW)
        with pytest.raises(Crash), transaction.atomic():  # the job's transaction, rolled back
            collect_channel(channel, now=NOW)
            raise Crash
        assert not PostSnapshot.objects.exists() and not AccountSnapshot.objects.exists()
        assert PostCollection.objects.get(target=target).step == 0  # still due
        collect_channel(channel, now=NOW + timedelta(minutes=5))
    replay.verify()
    assert snapshot_values(target.pk) == [(0, 8, 2, 3, None)]
    assert AccountSnapshot.objects.count() == 1


def test_one_channels_errors_do_not_stop_another(workspace: Workspace) -> None:
    broken = recorded("broken", cassette("mastodon/server_error"))
    healthy = recorded("healthy", mastodon_account(), mastodon_status("110001", likes=1, replies=0, reblogs=0))
    with ReplayServer(broken) as bad_server, ReplayServer(healthy) as good_server:
        bad = mastodon_channel(workspace, bad_server.url, remote_id="bad")
        good = mastodon_channel(workspace, good_server.url, remote_id="good")
        ChannelCollection.objects.create(workspace=workspace, channel=bad)
        published(bad, "110001", NOW - timedelta(hours=2))
        target = published(good, "110001", NOW - timedelta(hours=2))
        assert sorted(plan(NOW)) == sorted([bad.pk, good.pk])
        failed = collect_channel(bad, now=NOW)
        fine = collect_channel(good, now=NOW)
    broken.verify()
    healthy.verify()
    assert "503" in failed.error and fine.error == "" and fine.posts == 1
    state = ChannelCollection.objects.get(channel=bad)
    assert (state.failures, state.hold_until, state.last_error_at) == (1, NOW + timedelta(minutes=5), NOW)
    assert Channel.objects.get(pk=bad.pk).last_error  # recorded on the channel by the calls module
    assert PostSnapshot.objects.filter(target=target).count() == 1
    # The failed channel's step is still due, and waits out its backoff.
    assert PostCollection.objects.get(channel=bad).step == 0
    assert due_channels(NOW + timedelta(minutes=4)) == []
    assert due_channels(NOW + timedelta(minutes=6)) == [bad.pk]


def test_a_rate_limit_holds_the_channel_as_long_as_the_network_asks(workspace: Workspace) -> None:
    replay = recorded("limited", cassette("mastodon/rate_limited"))
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        published(channel, "110001", NOW - timedelta(hours=2))
        plan(NOW)
        result = collect_channel(channel, now=NOW)  # the account call is refused: posts are not tried
    replay.verify()
    assert result.error and result.posts == 0
    state = ChannelCollection.objects.get(channel=channel)
    assert state.hold_until == NOW + timedelta(seconds=120)  # Retry-After
    assert state.account_due_at == NOW  # still due once the wait is over
    assert not AccountSnapshot.objects.exists()


def test_plan_enrols_recent_posts_and_holds_the_channels_it_queues(workspace: Workspace) -> None:
    channel = mastodon_channel(workspace, "http://127.0.0.1:9")
    fresh = published(channel, "1", NOW - timedelta(minutes=30))
    overdue = published(channel, "2", NOW - timedelta(days=2))  # published before analytics saw it
    published(channel, "3", NOW - timedelta(days=31))  # too old: never enrolled
    published(channel, "", NOW - timedelta(hours=2))  # no remote id: nothing to ask for
    telegram = mastodon_channel(workspace, "http://127.0.0.1:9", network="telegram", remote_id="t", target="@acme")
    published(telegram, "55", NOW - timedelta(hours=2))  # the Bot API gives no post metrics
    paused = mastodon_channel(workspace, "http://127.0.0.1:9", remote_id="p", status=ChannelStatus.PAUSED)

    assert plan(NOW) == [channel.pk, telegram.pk]  # both have an account snapshot due
    rows = {row.target_id: row for row in PostCollection.objects.all()}
    assert set(rows) == {fresh.pk, overdue.pk}
    assert (rows[fresh.pk].step, rows[fresh.pk].due_at) == (0, fresh.published_at + timedelta(hours=1))
    assert (rows[overdue.pk].step, rows[overdue.pk].due_at) == (2, overdue.published_at + timedelta(days=1))
    assert not ChannelCollection.objects.filter(channel=paused).exists()
    held = ChannelCollection.objects.get(channel=channel).hold_until
    assert held is not None and held > NOW
    assert plan(NOW + timedelta(minutes=5)) == []  # queued already: not twice
    assert plan(NOW + timedelta(minutes=31)) == [channel.pk, telegram.pk]  # the jobs died: again


def test_a_finished_collection_is_never_due_again(workspace: Workspace) -> None:
    replay = recorded("last", mastodon_status("110001", likes=70, replies=20, reblogs=30))
    with ReplayServer(replay) as server:
        channel = mastodon_channel(workspace, server.url)
        ChannelCollection.objects.create(workspace=workspace, channel=channel)
        target = published(channel, "110001", NOW - timedelta(days=29, hours=23))
        plan(NOW)
        row = PostCollection.objects.get(target=target)
        assert row.step == 4  # enrolled late: the 7d step is due now
        PostCollection.objects.filter(pk=row.pk).update(step=5, due_at=target.published_at + timedelta(days=30))
        later = NOW + timedelta(hours=2)
        collect_channel(channel, now=later)
    replay.verify()
    row.refresh_from_db()
    assert (row.step, row.due_at) == (DONE, None)
    assert snapshot_values(target.pk) == [(5, 70, 20, 30, None)]
    assert due_channels(later + timedelta(days=365)) == []
