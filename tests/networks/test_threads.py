"""Threads connector contract tests against recorded Threads API exchanges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.threads import ThreadsConnector
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
CLIENT = OAuthClient("990602627938098", "secret", "https://sokhan.example/oauth/threads/callback")
USER = "17841405822304914"


def connect(replay: Replay) -> ThreadsConnector:
    connector = ThreadsConnector(
        Account(base_url=f"{replay.url}/v1.0", remote_id=USER, handle="sokhan"), Credentials(access_token="th-token")
    )
    connector.sleep = lambda seconds: None
    return connector


def test_registered() -> None:
    assert registry.get("threads") is ThreadsConnector
    assert ThreadsConnector.limits.max_text == 500
    assert ThreadsConnector.default_base_url == "https://graph.threads.net/v1.0"
    assert ThreadsConnector.has(Capability.SEARCH)
    assert ThreadsConnector.oauth is not None and "threads_keyword_search" in ThreadsConnector.oauth.scopes


def test_verify(cassette: Cassette) -> None:
    profile = connect(cassette("threads/verify")).verify()
    assert (profile.remote_id, profile.handle, profile.display_name) == (USER, "sokhan", "سخن")
    assert profile.bio == "ابزار مدیریت"
    assert profile.url == "https://www.threads.com/@sokhan"


def test_publish_text_is_two_steps(cassette: Cassette) -> None:
    result = connect(cassette("threads/publish_text")).publish(PublishRequest(text="سلام از سخن", idempotency_key="k"))
    assert result.remote_id == "17920238422030506"
    assert result.url == "https://www.threads.com/@sokhan/post/030506"
    assert result.published_at == datetime(2025, 1, 5, 12, tzinfo=UTC)


def test_publish_image_waits_for_the_container(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="عکس",
        idempotency_key="k",
        media=(MediaFile(path=tmp_path / "a.jpg", mime_type="image/jpeg", alt_text="منظره"),),
        options={"media_urls": "https://sokhan.example/m/a.jpg"},
    )
    connector = connect(cassette("threads/publish_image"))
    slept: list[float] = []
    connector.sleep = slept.append
    assert connector.publish(request).remote_id == "17920238422030507"
    assert slept == [ThreadsConnector.poll_interval]


def test_publish_carousel_survives_a_failed_permalink_lookup(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="چرخ‌فلک",
        idempotency_key="k",
        media=(
            MediaFile(path=tmp_path / "a.jpg", mime_type="image/jpeg"),
            MediaFile(path=tmp_path / "b.mp4", mime_type="video/mp4"),
        ),
        options={"media_urls": "https://sokhan.example/m/a.jpg\nhttps://sokhan.example/m/b.mp4"},
    )
    result = connect(cassette("threads/publish_carousel")).publish(request)
    assert result.remote_id == "17920238422030508"
    assert result.url == ""  # the post exists; only the permalink lookup failed


def test_failed_video_container_is_rejected(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="ویدیو",
        idempotency_key="k",
        media=(MediaFile(path=tmp_path / "b.mp4", mime_type="video/mp4"),),
        options={"media_urls": "https://sokhan.example/m/b.mp4"},
    )
    with pytest.raises(Rejected, match="FAILED_DOWNLOADING_VIDEO"):
        connect(cassette("threads/publish_video_failed")).publish(request)


def test_media_needs_public_urls(tmp_path: Path) -> None:
    connector = ThreadsConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"))
    image = MediaFile(path=tmp_path / "a.jpg", mime_type="image/jpeg")
    with pytest.raises(Rejected, match="media_urls") as caught:
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(image,)))
    assert caught.value.field == "media"
    with pytest.raises(Rejected, match="not a public"):
        connector.publish(
            PublishRequest(text="x", idempotency_key="k", media=(image,), options={"media_urls": "/local/a.jpg"})
        )


def test_publish_thread_and_first_comment_chain_replies(cassette: Cassette) -> None:
    request = PublishRequest(text="۱/ رشته", idempotency_key="k", thread=("۲/ ادامه",), first_comment="نظر اول")
    result = connect(cassette("threads/publish_thread")).publish(request)
    assert (result.remote_id, result.thread_ids, result.first_comment_id) == ("900", ("901",), "902")


def test_reply(cassette: Cassette) -> None:
    to = RemoteMessage("18001", MessageKind.COMMENT, "سلام", "sara", "sara", datetime.now(UTC))
    assert connect(cassette("threads/reply")).reply(to, "ممنون").remote_id == "18050"


def test_delete(cassette: Cassette) -> None:
    connect(cassette("threads/delete")).delete("17920238422030506")


def test_hide(cassette: Cassette) -> None:
    connect(cassette("threads/hide")).hide("18001")


def test_comments_page_through_and_skip_our_own(cassette: Cassette) -> None:
    page = connect(cassette("threads/comments")).fetch_comments("2025-01-01T10:00:00+00:00", post_ids=["900"])
    assert [m.remote_id for m in page.items] == ["18001", "18003"]
    last = page.items[-1]
    assert (last.kind, last.author_handle, last.in_reply_to, last.root_id) == (
        MessageKind.COMMENT,
        "reza",
        "18001",
        "900",
    )
    assert page.cursor == "2025-01-03T10:00:00+00:00"


def test_mentions_since_cursor(cassette: Cassette) -> None:
    page = connect(cassette("threads/mentions")).fetch_mentions("2025-01-01T10:00:00+00:00")
    assert [(m.remote_id, m.kind, m.author_handle) for m in page.items] == [("18100", MessageKind.MENTION, "mina")]
    assert page.cursor == "2025-01-04T08:00:00+00:00"


def test_search_recent_posts_since_cursor_oldest_first(cassette: Cassette) -> None:
    page = connect(cassette("threads/search")).search("قهوه سخن", "2025-01-01T10:00:00+00:00")
    assert [(m.remote_id, m.kind, m.author_handle) for m in page.items] == [
        ("18250", MessageKind.POST, "sara"),
        ("18290", MessageKind.POST, "omid"),
        ("18300", MessageKind.POST, "neda"),
    ]
    newest = page.items[-1]
    assert newest.url == "https://www.threads.com/@neda/post/18300"
    assert newest.created_at == datetime(2025, 1, 6, 9, 30, tzinfo=UTC)
    assert page.cursor == "2025-01-06T09:30:00+00:00"


def test_search_with_a_revoked_token_needs_reconnect(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired):
        connect(cassette("threads/error_search_unauthorized")).search("سخن")


def test_search_needs_a_keyword() -> None:
    connector = ThreadsConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"))
    with pytest.raises(Rejected, match="keyword") as caught:
        connector.search("  ")
    assert caught.value.field == "query"


def test_post_metrics(cassette: Cassette) -> None:
    full, empty = connect(cassette("threads/post_metrics")).post_metrics(["17920238422030506", "55"])
    assert (full.views, full.likes, full.comments, full.shares) == (4523, 187, 42, 31)
    assert (empty.views, empty.likes, empty.shares) == (None, None, None)


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("threads/account_metrics")).account_metrics()
    assert (metrics.followers, metrics.views) == (1200, 25)


def test_expired_token(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired, match="expired"):
        connect(cassette("threads/error_expired_token")).verify()


def test_rate_limit_reads_business_usage_header(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as caught:
        connect(cassette("threads/error_rate_limited")).publish(PublishRequest(text="x", idempotency_key="k"))
    assert caught.value.retry_after == 7 * 60


def test_validation_error_keeps_the_user_message(cassette: Cassette) -> None:
    with pytest.raises(Rejected) as caught:
        connect(cassette("threads/error_validation")).publish(PublishRequest(text="x", idempotency_key="k"))
    assert "longer than 500" in caught.value.detail


def test_server_error_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient):
        connect(cassette("threads/error_server")).delete("1")


def test_authorization_url() -> None:
    url = ThreadsConnector.authorization_url(CLIENT, state="st", code_challenge="ignored")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://threads.com/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert "code_challenge" not in query
    assert query["scope"].split(",")[0] == "threads_basic"
    assert (query["client_id"], query["response_type"], query["state"]) == ("990602627938098", "code", "st")


def test_exchange_code_gets_a_long_lived_token(cassette: Cassette) -> None:
    replay = cassette("threads/oauth_exchange")
    credentials = ThreadsConnector.exchange_code(
        CLIENT, code="AQBx-hBsH3", code_verifier="", base_url=f"{replay.url}/v1.0"
    )
    assert credentials.access_token == "THQVJ-long"
    assert credentials.data["user_id"] == USER
    assert credentials.expires_at is not None and (credentials.expires_at - datetime.now(UTC)).days >= 59


def test_refresh_keeps_the_rest(cassette: Cassette) -> None:
    replay = cassette("threads/oauth_refresh")
    old = Credentials(access_token="THQVJ-long", refresh_token="kept", data={"user_id": USER})
    new = ThreadsConnector.refresh(CLIENT, old, base_url=f"{replay.url}/v1.0")
    assert new.access_token == "THQVJ-refreshed"
    assert new.refresh_token == "kept"
    assert new.data == {"user_id": USER}


def test_refresh_of_an_expired_token_needs_reconnect(cassette: Cassette) -> None:
    replay = cassette("threads/oauth_refresh_expired")
    with pytest.raises(AuthExpired):
        ThreadsConnector.refresh(CLIENT, Credentials(access_token="old"), base_url=f"{replay.url}/v1.0")
