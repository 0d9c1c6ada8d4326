"""Instagram connector contract tests against recorded Instagram API (Instagram Login) exchanges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.instagram import InstagramConnector
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
from sokhan.networks.types import Account, Credentials, MediaFile, MessageKind, PublishRequest, RemoteMessage

Cassette = Callable[[str], Replay]
USER = "17841405822304914"
CLIENT = OAuthClient("990602627938098", "ig-secret", "https://sokhan.example/oauth/instagram/callback")


def connect(replay: Replay) -> InstagramConnector:
    connector = InstagramConnector(
        Account(base_url=f"{replay.url}/v25.0", remote_id=USER, handle="cafesokhan"),
        Credentials(access_token="IGQ-token"),
    )
    connector.sleep = lambda seconds: None
    return connector


def offline() -> InstagramConnector:
    return InstagramConnector(Account(base_url="http://127.0.0.1:9", remote_id=USER), Credentials(access_token="t"))


def jpeg(tmp_path: Path, name: str = "cup.jpg", alt: str = "") -> MediaFile:
    return MediaFile(path=tmp_path / name, mime_type="image/jpeg", alt_text=alt)


def test_registered_with_instagram_limits() -> None:
    assert registry.get("instagram") is InstagramConnector
    limits = InstagramConnector.limits
    assert (limits.max_text, limits.media.max_count, limits.media.image_types) == (2200, 10, ("image/jpeg",))
    assert limits.media.aspect_ratio == (0.8, 1.91)
    assert InstagramConnector.default_base_url == "https://graph.instagram.com/v25.0"


def test_verify(cassette: Cassette) -> None:
    profile = connect(cassette("instagram/verify")).verify()
    assert (profile.remote_id, profile.handle, profile.display_name) == (USER, "cafesokhan", "کافه سخن")
    assert (profile.followers, profile.following, profile.posts) == (8800, 120, 340)
    assert profile.url == "https://www.instagram.com/cafesokhan/"


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("instagram/account_metrics")).account_metrics()
    assert (metrics.followers, metrics.following, metrics.posts) == (8800, 120, 340)


def test_publish_image_with_first_comment(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="فنجان صبح #قهوه",
        idempotency_key="k",
        media=(jpeg(tmp_path, alt="فنجان قهوه"),),
        first_comment="#کافه #کتاب",
        options={"media_urls": "https://sokhan.example/m/cup.jpg"},
    )
    result = connect(cassette("instagram/publish_image")).publish(request)
    assert result.remote_id == "17920238422030506"
    assert result.first_comment_id == "17870913679156914"
    assert result.url == "https://www.instagram.com/p/DAbc123/"


def test_publish_reel_waits_until_finished(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="ریل",
        idempotency_key="k",
        media=(MediaFile(path=tmp_path / "r.mp4", mime_type="video/mp4"),),
        options={"media_urls": "https://sokhan.example/m/r.mp4"},
    )
    connector = connect(cassette("instagram/publish_reel"))
    slept: list[float] = []
    connector.sleep = slept.append
    assert connector.publish(request).remote_id == "17920238422030507"
    assert slept == [InstagramConnector.poll_interval]


def test_publish_carousel(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="آلبوم",
        idempotency_key="k",
        media=(jpeg(tmp_path, "a.jpg"), MediaFile(path=tmp_path / "b.mp4", mime_type="video/mp4")),
        options={"media_urls": "https://sokhan.example/m/a.jpg\nhttps://sokhan.example/m/b.mp4"},
    )
    assert connect(cassette("instagram/publish_carousel")).publish(request).remote_id == "17920238422030508"


def test_failed_container_is_rejected(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="",
        idempotency_key="k",
        media=(MediaFile(path=tmp_path / "bad.mp4", mime_type="video/mp4"),),
        options={"media_urls": "https://sokhan.example/m/bad.mp4"},
    )
    with pytest.raises(Rejected, match="2207026"):
        connect(cassette("instagram/publish_video_error")).publish(request)


def test_publishing_limit_is_rate_limited(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="x", idempotency_key="k", media=(jpeg(tmp_path),), options={"media_urls": "https://sokhan.example/m/a.jpg"}
    )
    with pytest.raises(RateLimited, match="rate limited"):
        connect(cassette("instagram/publish_limit_reached")).publish(request)


def test_caption_rules_are_checked_before_any_request(tmp_path: Path) -> None:
    connector = offline()
    urls = {"media_urls": "https://sokhan.example/m/a.jpg"}
    with pytest.raises(Rejected, match="cannot publish text posts"):
        connector.publish(PublishRequest(text="only text", idempotency_key="k"))
    tags = " ".join(f"#t{i}" for i in range(31))
    with pytest.raises(Rejected, match="30 hashtags") as caught:
        connector.publish(PublishRequest(text=tags, idempotency_key="k", media=(jpeg(tmp_path),), options=urls))
    assert caught.value.field == "text"
    mentions = " ".join(f"@user{i}" for i in range(21))
    with pytest.raises(Rejected, match="20 @mentions"):
        connector.publish(PublishRequest(text=mentions, idempotency_key="k", media=(jpeg(tmp_path),), options=urls))
    png = MediaFile(path=tmp_path / "a.png", mime_type="image/png")
    with pytest.raises(Rejected, match="does not accept image/png"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(png,), options=urls))
    with pytest.raises(Rejected, match="media_urls"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(jpeg(tmp_path),)))


def test_comments_flatten_replies_skip_our_own_and_respect_the_cursor(cassette: Cassette) -> None:
    page = connect(cassette("instagram/comments")).fetch_comments(
        "2025-01-01T00:00:00+00:00", post_ids=["17920238422030506"]
    )
    assert [m.remote_id for m in page.items] == ["17858893269000001", "17858893269000003"]
    reply = page.items[1]
    assert (reply.author_handle, reply.in_reply_to, reply.root_id) == ("sara", "17858893269000001", "17920238422030506")
    assert page.items[0].in_reply_to == "17920238422030506"
    assert page.cursor == "2025-01-02T11:00:00+00:00"


def test_comments_default_to_recent_media(cassette: Cassette) -> None:
    page = connect(cassette("instagram/comments_recent_media")).fetch_comments()
    assert (page.items, page.cursor) == ((), "")


def test_mentions_from_tags(cassette: Cassette) -> None:
    page = connect(cassette("instagram/mentions")).fetch_mentions()
    (mention,) = page.items
    assert (mention.kind, mention.author_handle, mention.text) == (MessageKind.MENTION, "mina", "صبحانه در @cafesokhan")
    assert page.cursor == "2025-01-04T08:00:00+00:00"


def test_reply_to_a_comment(cassette: Cassette) -> None:
    to = RemoteMessage("17858893269000003", MessageKind.COMMENT, "موافقم", "id-sara", "sara", datetime.now(UTC))
    assert connect(cassette("instagram/reply")).reply(to, "ممنون سارا").remote_id == "17858893269000004"


def test_reply_to_a_mention_comments_on_the_media(cassette: Cassette) -> None:
    to = RemoteMessage("18000000000000001", MessageKind.MENTION, "", "", "mina", datetime.now(UTC))
    assert connect(cassette("instagram/reply_to_mention")).reply(to, "نوش جان").remote_id == "17858893269000005"


def test_hide(cassette: Cassette) -> None:
    connect(cassette("instagram/hide")).hide("17858893269000003")


def test_delete_comment(cassette: Cassette) -> None:
    connect(cassette("instagram/delete_comment")).delete_comment("17858893269000003")


def test_post_metrics_and_too_few_viewers(cassette: Cassette) -> None:
    full, few = connect(cassette("instagram/post_metrics")).post_metrics(["17920238422030506", "17920238422030509"])
    assert (full.reach, full.likes, full.comments, full.saves, full.shares, full.views) == (1200, 150, 12, 30, 9, 2500)
    assert (few.remote_id, few.reach, few.likes) == ("17920238422030509", None, None)


def test_expired_token(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired):
        connect(cassette("instagram/error_expired_token")).verify()


def test_rate_limited(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as caught:
        connect(cassette("instagram/error_rate_limited")).verify()
    assert caught.value.retry_after == 180


def test_validation_error(cassette: Cassette, tmp_path: Path) -> None:
    request = PublishRequest(
        text="x", idempotency_key="k", media=(jpeg(tmp_path),), options={"media_urls": "https://sokhan.example/m/a.jpg"}
    )
    with pytest.raises(Rejected) as caught:
        connect(cassette("instagram/error_validation")).publish(request)
    assert "aspect ratio" in caught.value.detail


def test_bad_gateway_on_a_read_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient) as caught:
        connect(cassette("instagram/error_server")).verify()
    assert not isinstance(caught.value, OutcomeUnknown)


def test_authorization_url() -> None:
    url = InstagramConnector.authorization_url(CLIENT, state="st", code_challenge="unused")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.instagram.com/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert "code_challenge" not in query
    assert "instagram_business_content_publish" in query["scope"].split(",")


def test_exchange_code_then_long_lived_token(cassette: Cassette) -> None:
    replay = cassette("instagram/oauth_exchange")
    credentials = InstagramConnector.exchange_code(
        CLIENT, code="AQBx-code", code_verifier="", base_url=f"{replay.url}/v25.0"
    )
    assert credentials.access_token == "IGQ-long"
    assert credentials.data == {"user_id": USER}
    assert credentials.scopes == ("instagram_business_basic", "instagram_business_content_publish")
    assert credentials.expires_at is not None


def test_refresh_keeps_everything_else(cassette: Cassette) -> None:
    replay = cassette("instagram/oauth_refresh")
    old = Credentials(access_token="IGQ-long", refresh_token="kept", scopes=("a",), data={"user_id": USER})
    new = InstagramConnector.refresh(CLIENT, old, base_url=f"{replay.url}/v25.0")
    assert (new.access_token, new.refresh_token, new.scopes, new.data) == (
        "IGQ-refreshed",
        "kept",
        ("a",),
        {"user_id": USER},
    )


def test_bad_code_is_rejected(cassette: Cassette) -> None:
    replay = cassette("instagram/oauth_exchange_bad_code")
    with pytest.raises(Rejected, match="HTTP 400"):
        InstagramConnector.exchange_code(CLIENT, code="bad", code_verifier="", base_url=f"{replay.url}/v25.0")
