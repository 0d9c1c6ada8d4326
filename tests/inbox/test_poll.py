"""Which streams a channel is polled for."""

from __future__ import annotations

from sokhan.core.models import Workspace
from sokhan.inbox.models import Stream
from sokhan.inbox.poll import channels_to_poll, inbox_streams
from sokhan.ops.bench_sink import make_channel


def test_streams_follow_the_connectors_capabilities(workspace: Workspace) -> None:
    mastodon = make_channel(workspace, "https://social.example")
    assert inbox_streams(mastodon) == [Stream.COMMENTS, Stream.MENTIONS, Stream.DMS]
    assert mastodon.pk in channels_to_poll()


def test_a_bot_channel_fed_by_its_webhook_is_not_polled(workspace: Workspace) -> None:
    bot = make_channel(workspace, "https://api.telegram.org", network="telegram", target="@acme")
    assert inbox_streams(bot) != []
    bot.options = {**bot.options, "webhook_secret_hash": "0" * 64}
    bot.save(update_fields=["options"])
    assert inbox_streams(bot) == []  # getUpdates is refused while a webhook is set
