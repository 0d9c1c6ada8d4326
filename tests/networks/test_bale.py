"""Bale connector against recorded Bot API exchanges shaped as https://docs.bale.ai/ documents."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.connectors.bale import BaleConnector
from sokhan.networks.errors import AuthExpired, RateLimited, Rejected, Transient
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
TOKEN = "987654321:bale-test"
TEXT = "سلام *بله*! می\u200cخواهیم <خبر> & 🌙"
CAPTION = "تصویر امروز 🌷 نیم\u200cفاصله"


def connect(replay: Replay, target: str = "@sokhan_bale") -> BaleConnector:
    return BaleConnector(Account(base_url=replay.url, target=target), Credentials(access_token=TOKEN), timeout=5)


@pytest.fixture
def media(tmp_path: Path) -> dict[str, MediaFile]:
    for name in ("a.png", "b.jpg", "clip.mp4"):
        (tmp_path / name).write_bytes(b"\0" * 64)
    return {
        "a": MediaFile(path=tmp_path / "a.png", mime_type="image/png"),
        "b": MediaFile(path=tmp_path / "b.jpg", mime_type="image/jpeg"),
        "clip": MediaFile(path=tmp_path / "clip.mp4", mime_type="video/mp4"),
    }


def test_declares_what_bale_documents() -> None:
    registry.validate(BaleConnector)
    assert BaleConnector.default_base_url == "https://tapi.bale.ai"
    assert BaleConnector.has(Capability.MENTIONS)
    assert not BaleConnector.has(Capability.COMMENTS)  # no automatic-forward markers in Bale's updates
    assert not BaleConnector.has(Capability.HIDE)
    assert not BaleConnector.has(Capability.POST_METRICS)


def test_verify_uses_get_chat_members_count(cassette: Cassette) -> None:
    profile = connect(cassette("bale/verify")).verify()
    assert profile.remote_id == "5012345678"
    assert profile.handle == "sokhan_bale"
    assert profile.display_name == "سخن در بله"
    assert profile.url == "https://ble.ir/sokhan_bale"
    assert profile.followers == 321


def test_account_metrics(cassette: Cassette) -> None:
    assert connect(cassette("bale/account_metrics")).account_metrics().followers == 330


def test_publish_text_is_sent_as_written_without_parse_mode(cassette: Cassette) -> None:
    replay = cassette("bale/publish_text")
    result = connect(replay).publish(PublishRequest(text=TEXT, idempotency_key="k"))
    assert result.remote_id == "11"
    assert result.url == ""  # Bale documents no per-post links
    assert result.published_at == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    sent = json.loads(replay.requests[0]["body"])
    assert "parse_mode" not in sent


def test_publish_reply_uses_reply_to_message_id(cassette: Cassette) -> None:
    replay = cassette("bale/publish_reply")
    assert connect(replay).publish(PublishRequest(text="ادامه", idempotency_key="k", reply_to="11")).remote_id == "12"
    assert "reply_parameters" not in json.loads(replay.requests[0]["body"])


def test_publish_photo_album_and_video(cassette: Cassette, media: dict[str, MediaFile]) -> None:
    photo = connect(cassette("bale/publish_photo")).publish(
        PublishRequest(text=CAPTION, idempotency_key="k", media=(media["a"],))
    )
    assert photo.remote_id == "13"
    album = connect(cassette("bale/publish_album")).publish(
        PublishRequest(text=CAPTION, idempotency_key="k", media=(media["a"], media["b"]))
    )
    assert album.remote_id == "14,15"
    replay = cassette("bale/publish_video")
    video = connect(replay).publish(PublishRequest(text="ویدیو", idempotency_key="k", media=(media["clip"],)))
    assert video.remote_id == "16"
    assert b"supports_streaming" not in replay.requests[0]["body"]


def test_delete_album_one_message_at_a_time(cassette: Cassette) -> None:
    connect(cassette("bale/delete_album")).delete("14,15")


def test_mentions_and_reply(cassette: Cassette) -> None:
    page = connect(cassette("bale/mentions")).fetch_mentions()
    assert [m.remote_id for m in page.items] == ["6098765432:40"]
    mention = page.items[0]
    assert mention.kind is MessageKind.MENTION
    assert mention.author_handle == "zahra"
    assert page.cursor == "2"  # Bale's update ids start at zero
    result = connect(cassette("bale/reply_mention")).reply(mention, "در خدمتم")
    assert result.remote_id == "6098765432:42"


def test_reply_refuses_empty_text() -> None:
    connector = BaleConnector(Account(target="@x"), Credentials(access_token=TOKEN))
    to = RemoteMessage(
        remote_id="1:2",
        kind=MessageKind.MENTION,
        text="",
        author_id="1",
        author_handle="",
        created_at=datetime.now(UTC),
    )
    with pytest.raises(Rejected, match="reply"):
        connector.reply(to, " ")


def test_bad_token(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired):
        connect(cassette("bale/error_bad_token")).verify()


def test_rate_limited(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as info:
        connect(cassette("bale/error_rate_limited")).publish(PublishRequest(text="سلام", idempotency_key="k"))
    assert info.value.retry_after == 7


def test_too_long(cassette: Cassette) -> None:
    with pytest.raises(Rejected) as info:
        connect(cassette("bale/error_too_long")).publish(PublishRequest(text="سلام", idempotency_key="k"))
    assert info.value.field == "text"


def test_server_error_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient):
        connect(cassette("bale/error_server")).account_metrics()
