"""Eitaa connector against exchanges shaped like the Eitaayar API (see docs/connectors/eitaa.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.connectors.eitaa import EitaaConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, PublishRequest

Cassette = Callable[[str], Replay]
TOKEN = "bot12345:eitaa-test"
TEXT = "اطلاعیه: نمی\u200cتوانیم <امروز> & فردا 🌟"
CAPTION = "عکس روز 📷 نیم\u200cفاصله"


def connect(replay: Replay, target: str = "@sokhan_eitaa") -> EitaaConnector:
    return EitaaConnector(Account(base_url=replay.url, target=target), Credentials(access_token=TOKEN), timeout=5)


@pytest.fixture
def image(tmp_path: Path) -> MediaFile:
    (tmp_path / "a.png").write_bytes(b"\x89PNG" + b"0" * 32)
    return MediaFile(path=tmp_path / "a.png", mime_type="image/png")


def test_declares_send_only_capabilities() -> None:
    registry.validate(EitaaConnector)
    assert EitaaConnector.capabilities == {
        Capability.PROFILE_READ,
        Capability.PUBLISH_TEXT,
        Capability.PUBLISH_IMAGE,
        Capability.PUBLISH_VIDEO,
        Capability.PUBLISH_REPLY,
    }
    assert EitaaConnector.limits.media.max_count == 1


def test_verify_reads_the_bot(cassette: Cassette) -> None:
    profile = connect(cassette("eitaa/verify")).verify()
    assert profile.handle == "sokhan_eitaa"
    assert profile.display_name == "سخن یار"
    assert profile.url == "https://eitaa.com/sokhan_eitaa"
    assert profile.raw["bot"]["username"] == "sokhan_bot"


def test_publish_text_with_title_schedule_and_pin(cassette: Cassette) -> None:
    request = PublishRequest(
        text=TEXT, idempotency_key="k", title="اطلاعیه", options={"date": "1767258000", "pin": "1"}
    )
    result = connect(cassette("eitaa/publish_text")).publish(request)
    assert result.remote_id == "55"
    assert result.url == "https://eitaa.com/sokhan_eitaa/55"
    assert result.published_at == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def test_publish_reply(cassette: Cassette) -> None:
    result = connect(cassette("eitaa/publish_reply")).publish(
        PublishRequest(text="پاسخ", idempotency_key="k", reply_to="55")
    )
    assert result.remote_id == "56"


def test_publish_file_with_persian_caption(cassette: Cassette, image: MediaFile) -> None:
    result = connect(cassette("eitaa/publish_file")).publish(
        PublishRequest(text=CAPTION, idempotency_key="k", media=(image,))
    )
    assert result.remote_id == "57"


def test_one_file_per_message_and_caption_length(image: MediaFile) -> None:
    connector = EitaaConnector(Account(target="x"), Credentials(access_token=TOKEN))
    with pytest.raises(Rejected, match="at most 1 media"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(image, image)))
    with pytest.raises(Rejected, match="1025 UTF-16"):
        connector.publish(PublishRequest(text="س" * 1023 + "🌟", idempotency_key="k", media=(image,)))


def test_ok_false_is_rejected(cassette: Cassette) -> None:
    with pytest.raises(Rejected, match="chat not found") as info:
        connect(cassette("eitaa/error_rejected")).publish(PublishRequest(text="سلام", idempotency_key="k"))
    assert info.value.field == "target"


def test_bad_token(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired):
        connect(cassette("eitaa/error_bad_token")).verify()


def test_rate_limited_reads_retry_after_header(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as info:
        connect(cassette("eitaa/error_rate_limited")).publish(PublishRequest(text="سلام", idempotency_key="k"))
    assert info.value.retry_after == 30


def test_server_errors(cassette: Cassette) -> None:
    connector = connect(cassette("eitaa/error_server"))
    with pytest.raises(Transient):
        connector.verify()
    with pytest.raises(OutcomeUnknown):
        connector.publish(PublishRequest(text="سلام", idempotency_key="k"))
