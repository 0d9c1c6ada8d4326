"""Telegram connector against recorded Bot API exchanges (https://core.telegram.org/bots/api)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.connectors._botapi import Cursor, utf16_len
from sokhan.networks.connectors.telegram import TelegramConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
from sokhan.networks.types import (
    Account,
    Capability,
    Credentials,
    MediaFile,
    MessageKind,
    PublishRequest,
    RemoteMessage,
)

Cassette = Callable[[str], Replay]
TOKEN = "123456:ABC-test"
TEXT = "سلام دنیا! نمی\u200cخواهم <b> & 😀"
CAPTION = "عکس روز 📷 نیم\u200cفاصله"
GROUP = "-1009876543210"


def connect(replay: Replay | None = None, *, base_url: str = "", target: str = "@sokhan_fa") -> TelegramConnector:
    url = base_url or (replay.url if replay else "")
    return TelegramConnector(Account(base_url=url, target=target), Credentials(access_token=TOKEN), timeout=5)


@pytest.fixture
def media(tmp_path: Path) -> dict[str, MediaFile]:
    files = {"a.png": b"\x89PNG\r\n\x1a\n" + b"0" * 64, "b.jpg": b"\xff\xd8\xff" + b"1" * 64, "clip.mp4": b"\0" * 128}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {
        "a": MediaFile(path=tmp_path / "a.png", mime_type="image/png"),
        "b": MediaFile(path=tmp_path / "b.jpg", mime_type="image/jpeg"),
        "clip": MediaFile(
            path=tmp_path / "clip.mp4", mime_type="video/mp4", width=1280, height=720, duration_seconds=12
        ),
    }


def test_declares_capabilities_and_passes_the_registry() -> None:
    registry.validate(TelegramConnector)
    assert TelegramConnector.has(Capability.COMMENTS) and TelegramConnector.has(Capability.HIDE)
    assert not TelegramConnector.has(Capability.POST_METRICS)  # the Bot API has no view counts
    assert TelegramConnector.limits.max_text == 4096
    assert TelegramConnector.limits.media.max_count == 10


def test_verify_reads_bot_channel_and_member_count(cassette: Cassette) -> None:
    profile = connect(cassette("telegram/verify")).verify()
    assert profile.remote_id == "-1001234567890"
    assert profile.handle == "sokhan_fa"
    assert profile.display_name == "سخن"
    assert profile.bio.startswith("کانال رسمی")
    assert profile.url == "https://t.me/sokhan_fa"
    assert profile.followers == 1234
    assert profile.raw["bot"]["username"] == "SokhanBot"


def test_account_metrics_is_the_member_count(cassette: Cassette) -> None:
    assert connect(cassette("telegram/account_metrics")).account_metrics().followers == 1250


def test_publish_text_escapes_html_and_keeps_persian(cassette: Cassette) -> None:
    request = PublishRequest(text=TEXT, idempotency_key="k1", link="https://example.com/a?b=1&c=2")
    result = connect(cassette("telegram/publish_text")).publish(request)
    assert result.remote_id == "101"
    assert result.url == "https://t.me/sokhan_fa/101"
    assert result.published_at == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def test_publish_reply_uses_reply_parameters(cassette: Cassette) -> None:
    result = connect(cassette("telegram/publish_reply")).publish(
        PublishRequest(text="ادامه", idempotency_key="k2", reply_to="101")
    )
    assert result.remote_id == "102"


def test_publish_one_photo(cassette: Cassette, media: dict[str, MediaFile]) -> None:
    result = connect(cassette("telegram/publish_photo")).publish(
        PublishRequest(text=CAPTION, idempotency_key="k3", media=(media["a"],))
    )
    assert result.remote_id == "103"


def test_publish_album_returns_every_message_id(cassette: Cassette, media: dict[str, MediaFile]) -> None:
    result = connect(cassette("telegram/publish_album")).publish(
        PublishRequest(text=CAPTION, idempotency_key="k4", media=(media["a"], media["b"]))
    )
    assert result.remote_id == "104,105"
    assert result.url == "https://t.me/sokhan_fa/104"


def test_publish_video(cassette: Cassette, media: dict[str, MediaFile]) -> None:
    result = connect(cassette("telegram/publish_video")).publish(
        PublishRequest(text="ویدیو", idempotency_key="k5", media=(media["clip"],))
    )
    assert result.remote_id == "106"


def test_length_is_counted_in_utf16_units_before_any_request(media: dict[str, MediaFile]) -> None:
    connector = connect(base_url="http://127.0.0.1:9")  # nothing listens: a request would fail differently
    exact = "س" * 4094 + "😀"  # 4095 code points, 4096 UTF-16 units: allowed
    assert utf16_len(exact) == 4096
    connector.check_publish(PublishRequest(text=exact, idempotency_key="k"))
    over = "س" * 4095 + "😀"  # 4096 code points but 4097 UTF-16 units
    with pytest.raises(Rejected, match="4097 UTF-16 units") as info:
        connector.check_publish(PublishRequest(text=over, idempotency_key="k"))
    assert info.value.field == "text"
    with pytest.raises(Rejected, match="caption"):
        connector.publish(PublishRequest(text="ن\u200cم" * 400, idempotency_key="k", media=(media["a"],)))
    with pytest.raises(Rejected, match="empty"):
        connector.publish(PublishRequest(text="  ", idempotency_key="k"))
    # escaping does not count: "&" becomes "&amp;" on the wire but one character for the reader
    connector.check_publish(PublishRequest(text="&" * 4096, idempotency_key="k"))


def test_refuses_more_than_ten_media_and_unknown_types(media: dict[str, MediaFile]) -> None:
    connector = connect(base_url="http://127.0.0.1:9")
    with pytest.raises(Rejected, match="at most 10"):
        connector.check_publish(PublishRequest(text="x", idempotency_key="k", media=(media["a"],) * 11))
    gif = MediaFile(path=media["a"].path, mime_type="image/tiff")
    with pytest.raises(Rejected, match="image/tiff"):
        connector.check_publish(PublishRequest(text="x", idempotency_key="k", media=(gif,)))


def test_delete_one_message_and_a_whole_album(cassette: Cassette) -> None:
    connect(cassette("telegram/delete")).delete("101")
    connect(cassette("telegram/delete_album")).delete("104,105")


def test_delete_of_a_message_already_gone_counts_as_done(cassette: Cassette) -> None:
    connect(cassette("telegram/delete_gone")).delete("999")


def test_comments_follow_the_reply_chain_to_the_channel_post(cassette: Cassette) -> None:
    connector = connect(cassette("telegram/comments"))
    page = connector.fetch_comments()
    assert [m.remote_id for m in page.items] == [f"{GROUP}:501", f"{GROUP}:502"]
    first, second = page.items
    assert first.kind is MessageKind.COMMENT
    assert first.root_id == "101" and second.root_id == "101"
    assert first.text == "عالی بود 👏 ممنون"
    assert first.author_handle == "maryam" and first.author_name == "مریم رضایی"
    assert first.in_reply_to == f"{GROUP}:500"
    assert second.in_reply_to == f"{GROUP}:501"
    assert first.url == "https://t.me/sokhan_fa/101?comment=501"
    assert Cursor.parse(page.cursor).offset == 900007
    # the next poll only has a reply to a reply; the thread learned above comes back in the cursor
    later = connector.fetch_comments(page.cursor)
    assert [(m.remote_id, m.root_id) for m in later.items] == [(f"{GROUP}:504", "101")]
    assert connector.fetch_comments(later.cursor, post_ids=("101",)).items == ()


def test_mentions_match_entities_by_utf16_offsets(cassette: Cassette) -> None:
    page = connect(cassette("telegram/mentions")).fetch_mentions("900010")
    ids = [m.remote_id for m in page.items]
    # M1: @SokhanBot after an emoji; M2: @sokhan_fa in a photo caption; M4: a reply to the bot.
    # Not: @someoneelse, the automatic forward, or a comment that mentions the bot (it is a comment).
    assert ids == ["-1005555555555:77", "-1005555555555:78", "-1005555555555:81"]
    assert all(m.kind is MessageKind.MENTION for m in page.items)
    assert page.items[1].text == "دیدید @sokhan_fa چی نوشت؟"
    assert Cursor.parse(page.cursor).offset == 900016


def _comment() -> RemoteMessage:
    return RemoteMessage(
        remote_id=f"{GROUP}:501",
        kind=MessageKind.COMMENT,
        text="عالی بود",
        author_id="42",
        author_handle="maryam",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        root_id="101",
    )


def test_reply_to_a_comment_goes_to_the_discussion_group(cassette: Cassette) -> None:
    result = connect(cassette("telegram/reply_comment")).reply(_comment(), "ممنون از نظرتان 🌷")
    assert result.remote_id == f"{GROUP}:506"
    assert result.url == "https://t.me/sokhan_chat/506"


def test_hide_deletes_the_comment_in_the_group(cassette: Cassette) -> None:
    connect(cassette("telegram/hide")).hide(f"{GROUP}:502")


# ----------------------------------------------------------------------------------------- errors


def test_bad_token_is_auth_expired(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired, match="token was rejected"):
        connect(cassette("telegram/error_bad_token")).verify()
    with pytest.raises(AuthExpired):
        connect(cassette("telegram/error_malformed_token")).verify()


def test_missing_token_is_auth_expired_without_a_request() -> None:
    connector = TelegramConnector(Account(target="@x"), Credentials())
    with pytest.raises(AuthExpired, match="no bot token"):
        connector.verify()


def test_429_carries_retry_after(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as info:
        connect(cassette("telegram/error_rate_limited")).publish(PublishRequest(text="سلام", idempotency_key="k"))
    assert info.value.retry_after == 5
    assert "retry after 5" in info.value.detail


def test_validation_error_names_the_field(cassette: Cassette) -> None:
    with pytest.raises(Rejected, match="message is too long") as info:
        connect(cassette("telegram/error_too_long")).publish(PublishRequest(text="سلام", idempotency_key="k"))
    assert info.value.field == "text"


def test_unknown_chat_points_at_the_target(cassette: Cassette) -> None:
    with pytest.raises(Rejected) as info:
        connect(cassette("telegram/error_chat_not_found")).verify()
    assert info.value.field == "target"


def test_bot_removed_from_channel_needs_reconnecting(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired, match="administrator"):
        connect(cassette("telegram/error_forbidden")).publish(PublishRequest(text="سلام", idempotency_key="k"))


def test_group_migration_is_rejected_with_the_new_id(cassette: Cassette) -> None:
    with pytest.raises(Rejected, match="-1001111111111") as info:
        connect(cassette("telegram/error_migrated")).publish(PublishRequest(text="سلام", idempotency_key="k"))
    assert info.value.field == "target"


def test_server_errors_on_reads_are_transient_and_on_sends_unknown(cassette: Cassette) -> None:
    connector = connect(cassette("telegram/error_server"))
    with pytest.raises(Transient):
        connector.account_metrics()
    with pytest.raises(OutcomeUnknown):
        connector.publish(PublishRequest(text="سلام", idempotency_key="k"))


def test_second_poller_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient, match="another process"):
        connect(cassette("telegram/error_conflict")).fetch_comments()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a send that times out after reaching the network."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()


def test_timeout_after_sending_is_outcome_unknown(silent_server: str) -> None:
    connector = TelegramConnector(
        Account(base_url=silent_server, target="@sokhan_fa"), Credentials(access_token=TOKEN), timeout=0.5
    )
    with pytest.raises(OutcomeUnknown):
        connector.publish(PublishRequest(text="سلام", idempotency_key="k"))
    with pytest.raises(Transient):
        connector.account_metrics()
