"""X connector contract tests against recorded X API v2 exchanges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.x import XConnector
from sokhan.networks.errors import AuthExpired, RateLimited, Rejected, Transient
from sokhan.networks.types import (
    Account,
    Capability,
    Credentials,
    MediaFile,
    MessageKind,
    PublishRequest,
    RemoteMessage,
    TextCounting,
)

Cassette = Callable[[str], Replay]
CLIENT = OAuthClient("client-id", "client-secret", "https://sokhan.example/oauth/x/callback")


def connect(replay: Replay, **account: str) -> XConnector:
    return XConnector(
        Account(base_url=f"{replay.url}/2", remote_id="2244994945", handle="sokhan_demo", **account),
        Credentials(access_token="x-access"),
    )


def test_registered_with_declared_limits() -> None:
    assert registry.get("x") is XConnector
    assert XConnector.limits.counting is TextCounting.TWITTER_WEIGHTED
    assert XConnector.limits.max_text == 280
    assert XConnector.limits.media.max_count == 4
    assert XConnector.default_base_url == "https://api.x.com/2"
    assert XConnector.has(Capability.PUBLISH_VIDEO)
    assert XConnector.limits.media.video_types == ("video/mp4",)
    assert XConnector.limits.media.max_video_bytes == 512 * 1024 * 1024
    assert XConnector.limits.media.max_video_seconds == 140
    assert XConnector.chunk_size == 4 * 1024 * 1024


def test_verify_reads_profile_and_rate_limit(cassette: Cassette) -> None:
    replay = cassette("x/verify")
    connector = connect(replay)
    profile = connector.verify()
    assert (profile.remote_id, profile.handle, profile.display_name) == ("2244994945", "sokhan_demo", "Sokhan Demo")
    assert (profile.followers, profile.following, profile.posts) == (1520, 180, 3410)
    assert profile.url == "https://x.com/sokhan_demo"
    assert connector.last_rate_limit is not None
    assert connector.last_rate_limit.remaining == 899


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("x/verify")).account_metrics()
    assert (metrics.followers, metrics.following, metrics.posts) == (1520, 180, 3410)


def test_publish_text(cassette: Cassette) -> None:
    result = connect(cassette("x/publish_text")).publish(PublishRequest(text="سلام دنیا", idempotency_key="k1"))
    assert result.remote_id == "1445880548472328192"
    assert result.url == "https://x.com/sokhan_demo/status/1445880548472328192"
    assert result.thread_ids == ()


def test_publish_image_uploads_then_sets_alt_text(cassette: Cassette, tmp_path: Path) -> None:
    image = tmp_path / "logo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake-image-bytes")
    request = PublishRequest(
        text="با تصویر",
        idempotency_key="k2",
        media=(MediaFile(path=image, mime_type="image/png", alt_text="لوگوی سخن"),),
    )
    result = connect(cassette("x/publish_image")).publish(request)
    assert result.remote_id == "1445880548472328193"


def test_publish_thread_chains_replies_and_first_comment(cassette: Cassette) -> None:
    request = PublishRequest(
        text="۱/ رشته",
        idempotency_key="k3",
        thread=("۲/ ادامه", "۳/ پایان"),
        first_comment="لینک: https://example.com",
    )
    result = connect(cassette("x/publish_thread")).publish(request)
    assert result.remote_id == "100"
    assert result.thread_ids == ("101", "102")
    assert result.first_comment_id == "103"


def video(tmp_path: Path, duration_seconds: float | None = None) -> MediaFile:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"AAAAAAAABBBBBBBBCCCC")  # 20 bytes: three segments of at most 8 bytes
    return MediaFile(path=path, mime_type="video/mp4", duration_seconds=duration_seconds)


def chunked(replay: Replay) -> tuple[XConnector, list[float]]:
    connector = connect(replay)
    connector.chunk_size = 8
    slept: list[float] = []
    connector.sleep = slept.append
    return connector, slept


def test_publish_video_uploads_in_chunks_and_waits_for_processing(cassette: Cassette, tmp_path: Path) -> None:
    connector, slept = chunked(cassette("x/publish_video"))
    result = connector.publish(PublishRequest(text="ویدیوی تازه", idempotency_key="k", media=(video(tmp_path),)))
    assert result.remote_id == "1445880548472328194"
    assert slept == [1.0, 5.0]  # check_after_secs from FINALIZE, then from the in_progress STATUS


def test_video_that_fails_processing_is_rejected(cassette: Cassette, tmp_path: Path) -> None:
    connector, slept = chunked(cassette("x/publish_video_failed"))
    with pytest.raises(Rejected, match="could not process the video") as caught:
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(video(tmp_path),)))
    assert caught.value.field == "media"
    assert slept == [2.0]


def test_video_initialize_error_is_rejected_with_the_networks_words(cassette: Cassette, tmp_path: Path) -> None:
    connector, _ = chunked(cassette("x/error_video_initialize"))
    with pytest.raises(Rejected, match="HTTP 400") as caught:
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(video(tmp_path),)))
    assert "total_bytes" in caught.value.detail


def test_publish_refuses_bad_media_before_any_request(tmp_path: Path) -> None:
    connector = XConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"))
    clip = video(tmp_path)
    with pytest.raises(Rejected, match="does not accept video/quicktime"):
        mov = MediaFile(path=clip.path, mime_type="video/quicktime")
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(mov,)))
    with pytest.raises(Rejected, match="one video per post"):
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(clip, clip)))
    with pytest.raises(Rejected, match="up to 140 s") as caught:
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(video(tmp_path, duration_seconds=141),)))
    assert caught.value.field == "media"
    images = tuple(MediaFile(path=tmp_path / f"{i}.png", mime_type="image/png") for i in range(5))
    with pytest.raises(Rejected, match="at most 4 media"):
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=images))


def test_reply(cassette: Cassette) -> None:
    to = RemoteMessage(
        remote_id="1460323737035677698",
        kind=MessageKind.MENTION,
        text="@sokhan_demo hi",
        author_id="6253282",
        author_handle="ali",
        created_at=datetime.now(UTC),
    )
    result = connect(cassette("x/reply")).reply(to, "ممنون!")
    assert result.remote_id == "1460323737035677699"


def test_delete(cassette: Cassette) -> None:
    connect(cassette("x/delete")).delete("1445880548472328192")


def test_like(cassette: Cassette) -> None:
    connect(cassette("x/like")).like("1228393702244134912")


def test_mentions_follow_pages_and_return_oldest_first(cassette: Cassette) -> None:
    page = connect(cassette("x/mentions")).fetch_mentions("1000")
    assert [m.remote_id for m in page.items] == ["1100", "1250", "1300"]
    assert page.cursor == "1300"
    first, _, last = page.items
    assert first.kind is MessageKind.MENTION
    assert (last.author_handle, last.author_name, last.author_followers) == ("ali", "Ali", 40)
    assert last.in_reply_to == "1200"
    assert last.root_id == "1200"
    assert last.created_at == datetime(2025, 1, 2, 10, tzinfo=UTC)
    assert last.url == "https://x.com/ali/status/1300"


def test_mentions_without_news_keep_the_cursor(cassette: Cassette) -> None:
    page = connect(cassette("x/mentions_empty")).fetch_mentions("1300")
    assert page.items == ()
    assert page.cursor == "1300"


def test_search(cassette: Cassette) -> None:
    page = connect(cassette("x/search")).search("سخن -is:retweet")
    assert [(m.remote_id, m.kind, m.author_handle) for m in page.items] == [("1500", MessageKind.POST, "sara")]
    assert page.cursor == "1500"


def test_post_metrics_skip_missing_posts(cassette: Cassette) -> None:
    (metrics,) = connect(cassette("x/post_metrics")).post_metrics(["1500", "404"])
    assert metrics.remote_id == "1500"
    assert (metrics.likes, metrics.comments, metrics.shares, metrics.saves) == (25, 4, 5, 5)
    assert metrics.impressions == 1200
    assert metrics.reach is None


def test_expired_token_is_auth_expired(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired):
        connect(cassette("x/error_expired_token")).verify()


def test_rate_limit_uses_reset_header(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as caught:
        connect(cassette("x/error_rate_limited")).publish(PublishRequest(text="x", idempotency_key="k"))
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0


def test_validation_error_is_rejected_with_the_networks_words(cassette: Cassette) -> None:
    with pytest.raises(Rejected) as caught:
        connect(cassette("x/error_validation")).publish(PublishRequest(text="x", idempotency_key="k", reply_to="abc"))
    assert "in_reply_to_tweet_id" in caught.value.detail


def test_duplicate_is_rejected(cassette: Cassette) -> None:
    with pytest.raises(Rejected, match="HTTP 403") as caught:
        connect(cassette("x/error_duplicate")).publish(PublishRequest(text="x", idempotency_key="k"))
    assert "duplicate" in caught.value.detail


def test_server_error_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient):
        connect(cassette("x/error_server")).delete("1")


def test_authorization_url_uses_pkce() -> None:
    url = XConnector.authorization_url(CLIENT, state="st", code_challenge="challenge")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://x.com/i/oauth2/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["code_challenge"] == "challenge"
    assert query["code_challenge_method"] == "S256"
    assert query["state"] == "st"
    assert set(query["scope"].split()) >= {"tweet.write", "offline.access", "media.write", "like.write"}


def test_exchange_code_with_confidential_client(cassette: Cassette) -> None:
    replay = cassette("x/oauth_exchange")
    credentials = XConnector.exchange_code(
        CLIENT,
        code="VGNibzFWSWREZm01bjN1N3dicWlNUG1oa2xRRVNNdmVHelJGY2hPWGxNd2dxOjE2MjIxNjA4MjU4MjU6MToxOmFjOjE",
        code_verifier="verifier-123",
        base_url=f"{replay.url}/2",
    )
    assert (credentials.access_token, credentials.refresh_token) == ("new-access", "new-refresh")
    assert credentials.expires_at is not None and credentials.expires_at > datetime.now(UTC)
    assert "offline.access" in credentials.scopes


def test_refresh_rotates_tokens(cassette: Cassette) -> None:
    replay = cassette("x/oauth_refresh")
    old = Credentials(access_token="old", refresh_token="old-refresh", data={"keep": "me"})
    new = XConnector.refresh(CLIENT, old, base_url=f"{replay.url}/2")
    assert (new.access_token, new.refresh_token) == ("rotated-access", "rotated-refresh")
    assert new.data == {"keep": "me"}


def test_refresh_never_drops_the_refresh_token(cassette: Cassette) -> None:
    replay = cassette("x/oauth_refresh_without_new_refresh_token")
    public = OAuthClient("public-client", "", CLIENT.redirect_uri)
    new = XConnector.refresh(public, Credentials(refresh_token="old-refresh"), base_url=f"{replay.url}/2")
    assert new.access_token == "rotated-access"
    assert new.refresh_token == "old-refresh"


def test_revoked_refresh_token_needs_reconnect(cassette: Cassette) -> None:
    replay = cassette("x/oauth_refresh_revoked")
    with pytest.raises(AuthExpired):
        XConnector.refresh(CLIENT, Credentials(refresh_token="old-refresh"), base_url=f"{replay.url}/2")
    with pytest.raises(AuthExpired):
        XConnector.refresh(CLIENT, Credentials())
