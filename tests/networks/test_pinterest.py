"""Pinterest API v5 against recorded exchanges shaped like the API reference."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.pinterest import PinterestConnector
from sokhan.networks.errors import AuthExpired, RateLimited, Rejected, Transient
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, PublishRequest

BOARD = "549755885175"
PIN = "813744226420795884"
CLIENT = OAuthClient("pin-client", "pin-secret", "https://sokhan.example/oauth/pinterest/callback")
Cassette = Callable[[str], Replay]


def connect(replay: Replay, target: str = BOARD) -> PinterestConnector:
    return PinterestConnector(Account(base_url=replay.url, target=target), Credentials(access_token="pina_token"))


def media(tmp_path: Path, name: str, data: bytes, mime: str, alt: str = "") -> MediaFile:
    path = tmp_path / name
    path.write_bytes(data)
    return MediaFile(path=path, mime_type=mime, alt_text=alt)


def test_registered_with_declared_capabilities() -> None:
    cls = registry.get("pinterest")
    assert cls is PinterestConnector
    assert cls.has(Capability.PUBLISH_IMAGE) and cls.has(Capability.PUBLISH_VIDEO)
    assert not cls.has(Capability.PUBLISH_TEXT)
    assert (cls.limits.max_text, cls.limits.title_max) == (500, 100)


def test_verify_reads_user_account_and_rate_limit(cassette: Cassette) -> None:
    connector = connect(cassette("pinterest/verify"))
    profile = connector.verify()
    assert profile.remote_id == "516169294069645620"
    assert profile.handle == "sokhanpins"
    assert profile.display_name == "Sokhan"
    assert profile.url == "https://www.pinterest.com/sokhanpins/"
    assert (profile.followers, profile.following, profile.posts) == (6789, 120, 345)
    assert connector.last_rate_limit is not None
    assert (connector.last_rate_limit.limit, connector.last_rate_limit.remaining) == (1000, 998)


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("pinterest/account_metrics")).account_metrics()
    assert (metrics.followers, metrics.following, metrics.posts, metrics.views) == (6789, 120, 345, 45000)


def test_publish_image_pin(cassette: Cassette, tmp_path: Path) -> None:
    result = connect(cassette("pinterest/publish_image")).publish(
        PublishRequest(
            text="توضیح پین",
            title="راهنمای سخن",
            link="https://sokhan.example/blog/1",
            idempotency_key="k1",
            media=(media(tmp_path, "a.png", b"\x89PNGIMAGE", "image/png", alt="screenshot"),),
        )
    )
    assert result.remote_id == PIN
    assert result.url == f"https://www.pinterest.com/pin/{PIN}/"
    assert result.published_at is not None and result.published_at.date().isoformat() == "2026-02-01"


def test_publish_carousel(cassette: Cassette, tmp_path: Path) -> None:
    result = connect(cassette("pinterest/publish_carousel")).publish(
        PublishRequest(
            text="دو تصویر",
            idempotency_key="k2",
            media=(
                media(tmp_path, "a.png", b"\x89PNGIMAGE", "image/png"),
                media(tmp_path, "b.jpg", b"JPEGIMAGE", "image/jpeg"),
            ),
        )
    )
    assert result.remote_id == "813744226420795885"


def test_publish_video_registers_uploads_waits_then_pins(
    cassette: Cassette, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PinterestConnector, "video_poll_interval", 0.0)
    replay = cassette("pinterest/publish_video")
    result = connect(replay).publish(
        PublishRequest(
            text="",
            title="ویدیو",
            idempotency_key="k3",
            media=(media(tmp_path, "v.mp4", b"MP4VIDEO!", "video/mp4"),),
            options={"cover_key_frame_time": "2"},
        )
    )
    assert result.remote_id == "813744226420795886"
    upload = replay.requests[1]
    assert upload["path"] == "/pinterest-media-upload/"


def test_publish_needs_a_board_and_media(tmp_path: Path) -> None:
    image = media(tmp_path, "a.png", b"x", "image/png")
    with pytest.raises(Rejected) as no_board:
        PinterestConnector(Account(), Credentials()).publish(
            PublishRequest(text="x", idempotency_key="k", media=(image,))
        )
    assert no_board.value.field == "target"
    with pytest.raises(Rejected, match="cannot publish text"):
        PinterestConnector(Account(target=BOARD), Credentials()).publish(PublishRequest(text="x", idempotency_key="k"))
    with pytest.raises(Rejected) as long_title:
        PinterestConnector(Account(target=BOARD), Credentials()).publish(
            PublishRequest(text="x", title="t" * 101, idempotency_key="k", media=(image,))
        )
    assert long_title.value.field == "title"


def test_delete(cassette: Cassette) -> None:
    connect(cassette("pinterest/delete")).delete(PIN)


def test_post_metrics_use_lifetime_totals(cassette: Cassette) -> None:
    replay = cassette("pinterest/post_metrics")
    [metrics] = connect(replay).post_metrics([PIN])
    assert (metrics.impressions, metrics.saves, metrics.clicks) == (1200, 15, 100)
    assert metrics.likes is None
    query = replay.requests[0]["query"]
    start = datetime.fromisoformat(query["start_date"][0]).date()
    end = datetime.fromisoformat(query["end_date"][0]).date()
    assert (end - start).days == 89


def test_boards_follow_the_bookmark(cassette: Cassette) -> None:
    boards = connect(cassette("pinterest/boards")).boards()
    assert [b["id"] for b in boards] == [BOARD, "549755885176"]
    assert boards[1] == {"id": "549755885176", "name": "طرح‌ها", "privacy": "SECRET"}


def test_errors_are_typed(cassette: Cassette, tmp_path: Path) -> None:
    connector = connect(cassette("pinterest/errors"))
    image = media(tmp_path, "a.png", b"x", "image/png")
    with pytest.raises(AuthExpired, match="Authentication failed"):
        connector.verify()
    with pytest.raises(RateLimited) as limited:
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(image,)))
    assert limited.value.retry_after is not None and 40 <= limited.value.retry_after <= 42
    with pytest.raises(Rejected, match="Board not found"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(image,)))
    with pytest.raises(Transient):
        connector.delete(PIN)
    with pytest.raises(Rejected, match="Pin not found"):
        connector.delete(PIN)


def test_oauth_authorization_url_uses_comma_scopes() -> None:
    url = PinterestConnector.authorization_url(CLIENT, state="s1", code_challenge="unused")
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == "https://www.pinterest.com/oauth/"
    query = parse_qs(split.query)
    assert query["scope"] == ["user_accounts:read,boards:read,pins:read,pins:write"]
    assert query["response_type"] == ["code"] and query["state"] == ["s1"]
    assert "code_challenge" not in query


def test_oauth_exchange_and_refresh_keep_refresh_token(cassette: Cassette) -> None:
    replay = cassette("pinterest/oauth")
    creds = PinterestConnector.exchange_code(CLIENT, code="ab6f43b7c8f7f5b1d", code_verifier="", base_url=replay.url)
    assert (creds.access_token, creds.refresh_token) == ("pina_AMAGARQWACD", "pinr_AMAGARQWAC")
    assert "pins:write" in creds.scopes
    assert creds.expires_at is not None and creds.expires_at > datetime.now(UTC)
    refreshed = PinterestConnector.refresh(CLIENT, creds, base_url=replay.url)
    assert refreshed.access_token == "pina_REFRESHED"
    assert refreshed.refresh_token == "pinr_AMAGARQWAC"
    with pytest.raises(AuthExpired):
        PinterestConnector.refresh(CLIENT, creds, base_url=replay.url)
