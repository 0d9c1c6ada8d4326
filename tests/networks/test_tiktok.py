"""TikTok Content Posting and Display APIs against recorded exchanges shaped like the API reference."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.tiktok import MB, TikTokConnector, chunk_plan
from sokhan.networks.errors import AuthExpired, RateLimited, Rejected, Transient
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, PublishRequest

PUBLISH_ID = "v_pub_file~v2-1.7326594730521593862"
CLIENT = OAuthClient("tt-client", "tt-secret", "https://sokhan.example/oauth/tiktok/callback")
Cassette = Callable[[str], Replay]


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TikTokConnector, "status_poll_interval", 0.0)


def connect(replay: Replay) -> TikTokConnector:
    return TikTokConnector(Account(base_url=replay.url), Credentials(access_token="act.example12345"))


def video(tmp_path: Path, seconds: float = 30) -> MediaFile:
    path = tmp_path / "v.mp4"
    path.write_bytes(b"MP4VIDEO!")
    return MediaFile(path=path, mime_type="video/mp4", duration_seconds=seconds)


def photos(tmp_path: Path) -> tuple[MediaFile, ...]:
    out = []
    for name in ("1.jpg", "2.jpg"):
        (tmp_path / name).write_bytes(b"JPEG")
        out.append(MediaFile(path=tmp_path / name, mime_type="image/jpeg"))
    return tuple(out)


def test_registered_with_declared_capabilities() -> None:
    cls = registry.get("tiktok")
    assert cls is TikTokConnector
    assert cls.has(Capability.PUBLISH_VIDEO) and cls.has(Capability.PUBLISH_IMAGE)
    assert not cls.has(Capability.DELETE) and not cls.has(Capability.PUBLISH_TEXT)
    assert cls.limits.max_text == 2200


def test_chunk_plan_follows_media_transfer_rules() -> None:
    assert chunk_plan(9) == (9, 1)
    assert chunk_plan(64 * MB) == (64 * MB, 1)
    chunk, count = chunk_plan(105 * MB + 7)
    assert (chunk, count) == (10 * MB, 10)
    assert 105 * MB + 7 - chunk * (count - 1) <= 128 * MB  # the last chunk absorbs the rest


def test_verify_reads_user_info(cassette: Cassette) -> None:
    profile = connect(cassette("tiktok/verify")).verify()
    assert profile.remote_id == "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
    assert profile.handle == "sokhan.app"
    assert profile.display_name == "سخن"
    assert (profile.followers, profile.following, profile.posts) == (4321, 12, 77)


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("tiktok/account_metrics")).account_metrics()
    assert (metrics.followers, metrics.following, metrics.posts) == (4321, 12, 77)


def test_publish_video_queries_creator_uploads_and_polls(cassette: Cassette, tmp_path: Path) -> None:
    result = connect(cassette("tiktok/publish_video")).publish(
        PublishRequest(
            text="این یک ویدیو است #سخن",
            idempotency_key="k1",
            media=(video(tmp_path),),
            options={"video_cover_timestamp_ms": "1000"},
        )
    )
    assert result.remote_id == "7326594730521593862"
    assert result.url == "https://www.tiktok.com/@sokhan.app/video/7326594730521593862"
    assert result.raw["publish_id"] == PUBLISH_ID


def test_publish_pull_from_url_still_processing_returns_publish_id(
    cassette: Cassette, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TikTokConnector, "status_poll_attempts", 2)
    result = connect(cassette("tiktok/publish_pull_processing")).publish(
        PublishRequest(
            text="pulled",
            idempotency_key="k2",
            media=(video(tmp_path),),
            options={"video_url": "https://media.sokhan.example/v/1.mp4", "privacy_level": "SELF_ONLY"},
        )
    )
    assert result.remote_id == PUBLISH_ID
    assert result.raw["status"] == "PROCESSING_DOWNLOAD"


def test_publish_photo_failure_is_rejected_with_reason(cassette: Cassette, tmp_path: Path) -> None:
    with pytest.raises(Rejected, match="picture_size_check_failed"):
        connect(cassette("tiktok/publish_photo")).publish(
            PublishRequest(
                text="توضیح عکس‌ها",
                title="گالری",
                idempotency_key="k3",
                media=photos(tmp_path),
                options={"photo_urls": "https://media.sokhan.example/p/1.jpg\nhttps://media.sokhan.example/p/2.jpg"},
            )
        )


def test_photos_need_pull_urls_before_any_call(tmp_path: Path) -> None:
    connector = TikTokConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"))
    with pytest.raises(Rejected) as rejected:
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=photos(tmp_path)))
    assert rejected.value.field == "media"
    with pytest.raises(Rejected, match="cannot publish text"):
        connector.publish(PublishRequest(text="x", idempotency_key="k"))


def test_privacy_and_duration_checked_against_creator_info(cassette: Cassette, tmp_path: Path) -> None:
    connector = connect(cassette("tiktok/creator_limits"))
    with pytest.raises(Rejected, match="up to 300 seconds"):
        connector.publish(PublishRequest(text="long", idempotency_key="k", media=(video(tmp_path, seconds=301),)))
    with pytest.raises(Rejected, match="privacy_level must be one of") as rejected:
        connector.publish(
            PublishRequest(
                text="x", idempotency_key="k", media=(video(tmp_path),), options={"privacy_level": "FRIENDS"}
            )
        )
    assert rejected.value.field == "options"


def test_post_metrics_resolve_publish_ids(cassette: Cassette) -> None:
    first, second = connect(cassette("tiktok/post_metrics")).post_metrics([PUBLISH_ID, "7077642457847994444"])
    assert first.remote_id == PUBLISH_ID
    assert (first.likes, first.comments, first.shares, first.views) == (120, 14, 6, 3400)
    assert (second.likes, second.views) == (1, 55)


def test_errors_are_typed(cassette: Cassette) -> None:
    connector = connect(cassette("tiktok/errors"))
    with pytest.raises(AuthExpired, match="access_token_invalid"):
        connector.verify()
    with pytest.raises(RateLimited) as limited:
        connector.creator_info()
    assert limited.value.retry_after == 60.0
    with pytest.raises(Rejected, match="invalid_params"):
        connector.creator_info()
    with pytest.raises(RateLimited, match="spam_risk_too_many_posts"):
        connector.creator_info()
    with pytest.raises(Transient):
        connector.verify()
    with pytest.raises(AuthExpired, match="scope_not_authorized"):
        connector.verify()


def test_oauth_authorization_url_uses_client_key_and_pkce() -> None:
    url = TikTokConnector.authorization_url(CLIENT, state="s1", code_challenge="challenge")
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == "https://www.tiktok.com/v2/auth/authorize/"
    query = parse_qs(split.query)
    assert query["client_key"] == ["tt-client"] and "client_id" not in query
    assert query["scope"] == ["user.info.basic,user.info.profile,user.info.stats,video.publish,video.list"]
    assert query["code_challenge"] == ["challenge"] and query["code_challenge_method"] == ["S256"]


def test_oauth_exchange_and_refresh_keep_refresh_token(cassette: Cassette) -> None:
    replay = cassette("tiktok/oauth")
    creds = TikTokConnector.exchange_code(
        CLIENT, code="CODE_FROM_REDIRECT", code_verifier="verifier-xyz", base_url=replay.url
    )
    assert creds.access_token.startswith("act.1d10")
    assert creds.refresh_token.startswith("rft.713e")
    assert creds.data["open_id"] == "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
    assert creds.scopes == ("user.info.basic", "video.publish")
    assert creds.expires_at is not None and creds.expires_at > datetime.now(UTC)
    refreshed = TikTokConnector.refresh(CLIENT, creds, base_url=replay.url)
    assert refreshed.access_token == "act.refreshed"
    assert refreshed.refresh_token == creds.refresh_token  # an empty one never replaces it
    with pytest.raises(AuthExpired, match="invalid or expired"):
        TikTokConnector.refresh(CLIENT, creds, base_url=replay.url)
