"""YouTube Data API v3 against recorded exchanges shaped like the API reference."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.youtube import YouTubeConnector, seconds_until_pacific_midnight
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

CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
CLIENT = OAuthClient(
    "yt-client.apps.googleusercontent.com", "yt-secret", "https://sokhan.example/oauth/youtube/callback"
)
Cassette = Callable[[str], Replay]


def connect(replay: Replay, remote_id: str = CHANNEL) -> YouTubeConnector:
    return YouTubeConnector(Account(base_url=replay.url, remote_id=remote_id), Credentials(access_token="ya29.token"))


def video_file(tmp_path: Path) -> MediaFile:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"MP4VIDEO!")
    return MediaFile(path=path, mime_type="video/mp4")


def test_registered_with_declared_capabilities() -> None:
    cls = registry.get("youtube")
    assert cls is YouTubeConnector
    assert cls.has(Capability.PUBLISH_VIDEO) and cls.has(Capability.HIDE)
    assert not cls.has(Capability.PUBLISH_TEXT) and not cls.has(Capability.PUBLISH_IMAGE)
    assert cls.limits.title_max == 100
    assert cls.limits.max_text == 5000


def test_verify_reads_channel(cassette: Cassette) -> None:
    profile = connect(cassette("youtube/verify")).verify()
    assert profile.remote_id == CHANNEL
    assert profile.handle == "@sokhantv"
    assert profile.display_name == "سخن TV"
    assert profile.url == "https://www.youtube.com/@sokhantv"
    assert profile.avatar_url == "https://yt3.ggpht.com/a/high.jpg"
    assert (profile.followers, profile.posts) == (8900, 321)


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("youtube/account_metrics")).account_metrics()
    assert (metrics.followers, metrics.posts, metrics.views) == (8900, 321, 1234567)


def test_publish_video_resumable_upload(cassette: Cassette, tmp_path: Path) -> None:
    result = connect(cassette("youtube/publish_video")).publish(
        PublishRequest(
            text="توضیحات ویدیو",
            title="معرفی سخن",
            idempotency_key="k1",
            media=(video_file(tmp_path),),
            options={"privacy_status": "unlisted", "tags": "sokhan, persian"},
        )
    )
    assert result.remote_id == "Ks-_Mh1QhMc"
    assert result.url == "https://www.youtube.com/watch?v=Ks-_Mh1QhMc"
    assert result.published_at == datetime(2026, 2, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 101}, "title"),
        ({"title": "a <b>"}, "title"),
        ({"text": "ب" * 2501}, "text"),  # 5002 UTF-8 bytes
        ({"options": {"privacy_status": "friends"}}, "options"),
    ],
)
def test_publish_is_checked_before_any_call(tmp_path: Path, request_kwargs: dict[str, object], field: str) -> None:
    connector = YouTubeConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"))
    kwargs: dict[str, object] = {
        "text": "desc",
        "title": "ok",
        "idempotency_key": "k",
        "media": (video_file(tmp_path),),
    }
    kwargs.update(request_kwargs)
    with pytest.raises(Rejected) as rejected:
        connector.publish(PublishRequest(**kwargs))  # type: ignore[arg-type]
    assert rejected.value.field == field


def test_text_only_and_images_are_refused() -> None:
    connector = YouTubeConnector(Account(), Credentials(access_token="t"))
    with pytest.raises(Rejected, match="cannot publish text"):
        connector.publish(PublishRequest(text="hello", idempotency_key="k"))
    image = MediaFile(path=Path("a.png"), mime_type="image/png")
    with pytest.raises(Rejected, match="cannot publish images"):
        connector.publish(PublishRequest(text="hello", title="t", idempotency_key="k", media=(image,)))


def test_delete(cassette: Cassette) -> None:
    connect(cassette("youtube/delete")).delete("Ks-_Mh1QhMc")


def test_fetch_channel_comments_pages_until_watermark(cassette: Cassette) -> None:
    page = connect(cassette("youtube/comments")).fetch_comments("2026-02-01T00:00:00Z")
    assert [m.text for m in page.items] == ["خیلی خوب بود", "موافقم", "newest"]  # own reply left out
    reply = page.items[1]
    assert reply.kind is MessageKind.COMMENT
    assert reply.in_reply_to == "UgzDE2tasfmrYLyNkGt4AaABAg"
    assert reply.root_id == "Ks-_Mh1QhMc"
    assert reply.author_id == "UCali"
    assert page.items[0].in_reply_to == "Ks-_Mh1QhMc"
    assert page.cursor == "2026-02-03T09:00:00Z"


def test_fetch_comments_for_one_video_without_cursor(cassette: Cassette) -> None:
    page = connect(cassette("youtube/comments_video")).fetch_comments(post_ids=["Ks-_Mh1QhMc"])
    assert [m.remote_id for m in page.items] == ["UgzDE2tasfmrYLyNkGt4AaABAg", "UgzDE2tasfmrYLyNkGt4AaABAg.9xyz"]
    assert page.cursor == "2026-02-02T11:00:00Z"


def test_reply_to_a_reply_attaches_to_the_top_level_comment(cassette: Cassette) -> None:
    to = RemoteMessage(
        remote_id="UgzDE2tasfmrYLyNkGt4AaABAg.9xyz",
        kind=MessageKind.COMMENT,
        text="موافقم",
        author_id="UCali",
        author_handle="Ali",
        created_at=datetime.now(UTC),
        in_reply_to="UgzDE2tasfmrYLyNkGt4AaABAg",
        root_id="Ks-_Mh1QhMc",
    )
    result = connect(cassette("youtube/reply")).reply(to, "ممنون از شما")
    assert result.remote_id == "UgzDE2tasfmrYLyNkGt4AaABAg.9new"
    assert result.url.endswith("lc=UgzDE2tasfmrYLyNkGt4AaABAg.9new")


def test_hide_holds_for_review(cassette: Cassette) -> None:
    connect(cassette("youtube/hide")).hide("UgwNEW2")


def test_post_metrics_missing_video_is_none_not_zero(cassette: Cassette) -> None:
    found, missing = connect(cassette("youtube/post_metrics")).post_metrics(["Ks-_Mh1QhMc", "missing1"])
    assert (found.views, found.likes, found.comments) == (5400, 310, 42)
    assert (missing.views, missing.likes) == (None, None)


def test_errors_are_typed(cassette: Cassette) -> None:
    connector = connect(cassette("youtube/errors"))
    with pytest.raises(AuthExpired):
        connector.verify()
    with pytest.raises(RateLimited) as quota:
        connector.post_metrics(["Ks-_Mh1QhMc"])
    assert quota.value.retry_after is not None and 0 < quota.value.retry_after <= 25 * 3600
    to = RemoteMessage(
        remote_id="c1", kind=MessageKind.COMMENT, text="", author_id="", author_handle="", created_at=datetime.now(UTC)
    )
    with pytest.raises(Rejected, match="commentTextTooLong"):
        connector.reply(to, "x")
    with pytest.raises(Transient):
        connector.delete("Ks-_Mh1QhMc")
    with pytest.raises(RateLimited) as limited:
        connector.account_metrics()
    assert limited.value.retry_after == 30.0


def test_quota_resets_at_pacific_midnight() -> None:
    # 2026-07-01 06:00 UTC is 23:00 PDT on June 30: one hour to go.
    assert seconds_until_pacific_midnight(datetime(2026, 7, 1, 6, 0, tzinfo=UTC)) == 3600
    # 2026-01-15 08:00 UTC is 00:00 PST: a full day.
    assert seconds_until_pacific_midnight(datetime(2026, 1, 15, 8, 0, tzinfo=UTC)) == 86400


def test_oauth_authorization_url_asks_for_offline_access() -> None:
    url = YouTubeConnector.authorization_url(CLIENT, state="s1", code_challenge="abc")
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == "https://accounts.google.com/o/oauth2/v2/auth"
    query = parse_qs(split.query)
    assert query["code_challenge"] == ["abc"] and query["code_challenge_method"] == ["S256"]
    assert query["access_type"] == ["offline"]
    assert query["scope"] == [
        "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.force-ssl"
    ]


def test_oauth_exchange_and_refresh_keep_refresh_token(cassette: Cassette) -> None:
    replay = cassette("youtube/oauth")
    creds = YouTubeConnector.exchange_code(
        CLIENT, code="4/P7q7W91a-oMsCeLvIaQm6bTrgtp7", code_verifier="verifier-123", base_url=replay.url
    )
    assert creds.access_token == "ya29.a0new"
    assert creds.refresh_token == "1//04refresh"
    assert len(creds.scopes) == 2
    refreshed = YouTubeConnector.refresh(CLIENT, creds, base_url=replay.url)
    assert refreshed.access_token == "ya29.a0refreshed"
    assert refreshed.refresh_token == "1//04refresh"
    with pytest.raises(AuthExpired, match="expired or revoked"):
        YouTubeConnector.refresh(CLIENT, creds, base_url=replay.url)
