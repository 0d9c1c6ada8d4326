"""Facebook Pages connector contract tests against recorded Graph API exchanges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors._graph import GraphRejected
from sokhan.networks.connectors.facebook import FacebookConnector
from sokhan.networks.errors import AuthExpired, RateLimited, Rejected, Transient
from sokhan.networks.types import (
    Account,
    AuthKind,
    Credentials,
    MediaFile,
    MessageKind,
    ProfileUpdate,
    PublishRequest,
    RemoteMessage,
)

Cassette = Callable[[str], Replay]
PAGE = "104086835489520"
CLIENT = OAuthClient("app-id", "app-secret", "https://sokhan.example/oauth/facebook/callback")


def connect(replay: Replay) -> FacebookConnector:
    return FacebookConnector(
        Account(base_url=f"{replay.url}/v25.0", target=PAGE),
        Credentials(access_token="EAA-long", data={"page_access_token": "page-token"}),
    )


def test_registered() -> None:
    assert registry.get("facebook") is FacebookConnector
    assert FacebookConnector.auth is AuthKind.OAUTH2
    assert FacebookConnector.default_base_url == "https://graph.facebook.com/v25.0"


def test_verify_acts_as_the_page(cassette: Cassette) -> None:
    profile = connect(cassette("facebook/verify")).verify()
    assert (profile.remote_id, profile.handle, profile.display_name) == (PAGE, "cafesokhan", "کافه سخن")
    assert profile.bio == "قهوه و کتاب"
    assert profile.links == ("https://cafe.example",)
    assert profile.avatar_url == "https://scontent.xx.fbcdn.net/p.jpg"
    assert profile.followers == 5400


def test_no_page_chosen_is_a_clear_error() -> None:
    connector = FacebookConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"))
    with pytest.raises(Rejected, match="no Facebook Page") as caught:
        connector.verify()
    assert caught.value.field == "target"


def test_account_metrics(cassette: Cassette) -> None:
    assert connect(cassette("facebook/account_metrics")).account_metrics().followers == 5400


def test_update_profile(cassette: Cassette) -> None:
    profile = connect(cassette("facebook/update_profile")).update_profile(
        ProfileUpdate(bio="قهوهٔ تازه", url="https://cafe.example/new")
    )
    assert profile.bio == "قهوهٔ تازه"
    assert profile.links == ("https://cafe.example/new",)


def test_update_profile_refuses_what_the_api_cannot_change() -> None:
    connector = FacebookConnector(Account(base_url="http://127.0.0.1:9", target=PAGE), Credentials(access_token="t"))
    with pytest.raises(Rejected, match="About text and the website"):
        connector.update_profile(ProfileUpdate(display_name="New name"))


def test_publish_link_then_first_comment(cassette: Cassette) -> None:
    request = PublishRequest(
        text="مطلب تازه", idempotency_key="k", link="https://cafe.example/blog/1", first_comment="منبع: وبلاگ ما"
    )
    result = connect(cassette("facebook/publish_link_with_first_comment")).publish(request)
    assert result.remote_id == f"{PAGE}_1234567890"
    assert result.url == f"https://www.facebook.com/{PAGE}_1234567890"
    assert result.first_comment_id == "1234567890_555"


def test_publish_one_photo_uploads_the_file(cassette: Cassette, tmp_path: Path) -> None:
    image = tmp_path / "cup.jpg"
    image.write_bytes(b"jpeg-bytes")
    request = PublishRequest(text="فنجان", idempotency_key="k", media=(MediaFile(path=image, mime_type="image/jpeg"),))
    assert connect(cassette("facebook/publish_photo")).publish(request).remote_id == f"{PAGE}_10161717611234567"


def test_publish_several_photos_attaches_unpublished_uploads(cassette: Cassette, tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"a")
    (tmp_path / "b.png").write_bytes(b"b")
    media = (
        MediaFile(path=tmp_path / "a.jpg", mime_type="image/jpeg"),
        MediaFile(path=tmp_path / "b.png", mime_type="image/png", alt_text="منو"),
    )
    result = connect(cassette("facebook/publish_photos")).publish(
        PublishRequest(text="دو عکس", idempotency_key="k", media=media)
    )
    assert result.remote_id == f"{PAGE}_300"


def test_publish_video_uploads_the_file_with_description(cassette: Cassette, tmp_path: Path) -> None:
    clip = tmp_path / "tour.mp4"
    clip.write_bytes(b"mp4-video-bytes")
    request = PublishRequest(
        text="گشتی در کافه",
        title="تور کافه",
        idempotency_key="k",
        media=(MediaFile(path=clip, mime_type="video/mp4"),),
        first_comment="منو: cafe.example/menu",
    )
    result = connect(cassette("facebook/publish_video")).publish(request)
    assert result.remote_id == "10162304567890123"
    assert result.url == f"https://www.facebook.com/{PAGE}/videos/10162304567890123"
    assert result.first_comment_id == "10162304567890123_777"


def test_video_upload_error_is_rejected_with_the_user_message(cassette: Cassette, tmp_path: Path) -> None:
    clip = tmp_path / "notes.mp4"
    clip.write_bytes(b"not really a video")
    request = PublishRequest(text="v", idempotency_key="k", media=(MediaFile(path=clip, mime_type="video/mp4"),))
    with pytest.raises(GraphRejected) as caught:
        connect(cassette("facebook/error_video_upload")).publish(request)
    assert (caught.value.code, caught.value.subcode) == (6000, 1363031)
    assert "not a video" in caught.value.detail


def test_publish_refuses_bad_video_posts_and_threads(tmp_path: Path) -> None:
    connector = FacebookConnector(Account(base_url="http://127.0.0.1:9", target=PAGE), Credentials(access_token="t"))
    clip_path = tmp_path / "v.mp4"
    clip_path.write_bytes(b"v")
    clip = MediaFile(path=clip_path, mime_type="video/mp4")
    photo = MediaFile(path=tmp_path / "a.jpg", mime_type="image/jpeg")
    with pytest.raises(Rejected, match="one video on its own"):
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(clip, clip)))
    with pytest.raises(Rejected, match="cannot mix"):
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(clip, photo)))
    long = MediaFile(path=clip_path, mime_type="video/mp4", duration_seconds=21 * 60)
    with pytest.raises(Rejected, match="20 minutes") as caught:
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(long,)))
    assert caught.value.field == "media"
    with pytest.raises(Rejected, match="does not accept video/webm"):
        webm = MediaFile(path=clip_path, mime_type="video/webm")
        connector.publish(PublishRequest(text="v", idempotency_key="k", media=(webm,)))
    with pytest.raises(Rejected, match="cannot publish threads"):
        connector.publish(PublishRequest(text="v", idempotency_key="k", thread=("2",)))


def test_delete(cassette: Cassette) -> None:
    connect(cassette("facebook/delete")).delete(f"{PAGE}_1234567890")


def test_comments_since_cursor_skip_the_pages_own(cassette: Cassette) -> None:
    page = connect(cassette("facebook/comments")).fetch_comments("1735725600", post_ids=[f"{PAGE}_1"])
    assert [m.remote_id for m in page.items] == ["1_1", "1_3"]
    first, second = page.items
    assert (first.kind, first.author_name, first.in_reply_to, first.root_id) == (
        MessageKind.COMMENT,
        "Ali",
        f"{PAGE}_1",
        f"{PAGE}_1",
    )
    assert second.in_reply_to == "1_1"
    assert second.created_at == datetime(2025, 1, 3, 9, 30, tzinfo=UTC)
    assert page.cursor == str(int(datetime(2025, 1, 3, 9, 30, tzinfo=UTC).timestamp()))


def test_comments_default_to_recent_posts(cassette: Cassette) -> None:
    page = connect(cassette("facebook/comments_recent_posts")).fetch_comments()
    assert page.items == ()
    assert page.cursor == ""


def test_mentions_from_tagged(cassette: Cassette) -> None:
    page = connect(cassette("facebook/mentions")).fetch_mentions("1735725600")
    assert [(m.remote_id, m.kind, m.author_name) for m in page.items] == [("777_888", MessageKind.MENTION, "Mina")]


def test_reply_to_a_comment(cassette: Cassette) -> None:
    to = RemoteMessage("1_3", MessageKind.COMMENT, "کی باز است؟", "5002", "5002", datetime.now(UTC))
    assert connect(cassette("facebook/reply")).reply(to, "از ساعت ۸ صبح").remote_id == "1_4"


def test_hide(cassette: Cassette) -> None:
    connect(cassette("facebook/hide")).hide("1_3")


def test_like(cassette: Cassette) -> None:
    connect(cassette("facebook/like")).like("1_3")


def test_post_metrics(cassette: Cassette) -> None:
    first, second = connect(cassette("facebook/post_metrics")).post_metrics([f"{PAGE}_1", f"{PAGE}_2"])
    assert (first.likes, first.comments, first.shares) == (42, 7, 3)
    # Graph sent no ``shares`` for the second post: missing, not zero (nor are views given).
    assert (second.likes, second.comments, second.shares) == (0, 0, None)
    assert first.views is None and first.impressions is None and first.reach is None


def test_code_190_is_auth_expired(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired, match="expired"):
        connect(cassette("facebook/error_expired_token")).verify()


def test_page_throttling_reads_estimated_time_to_regain_access(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as caught:
        connect(cassette("facebook/error_rate_limited")).publish(PublishRequest(text="x", idempotency_key="k"))
    assert caught.value.retry_after == 15 * 60


def test_app_throttling_without_an_estimate(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as caught:
        connect(cassette("facebook/error_app_rate_limited")).delete("1")
    assert caught.value.retry_after is None


def test_code_100_is_rejected(cassette: Cassette) -> None:
    with pytest.raises(GraphRejected) as caught:
        connect(cassette("facebook/error_validation")).publish(PublishRequest(text="x", idempotency_key="k"))
    assert caught.value.code == 100
    assert "valid URL" in caught.value.detail


def test_missing_permission_is_rejected(cassette: Cassette) -> None:
    with pytest.raises(Rejected, match="permission"):
        connect(cassette("facebook/error_permission")).publish(PublishRequest(text="x", idempotency_key="k"))


def test_server_error_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient):
        connect(cassette("facebook/error_server")).delete("1")


def test_authorization_url() -> None:
    url = FacebookConnector.authorization_url(CLIENT, state="st", code_challenge="unused")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://www.facebook.com/v25.0/dialog/oauth"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert "code_challenge" not in query
    assert "pages_manage_posts" in query["scope"].split(",")
    assert (query["state"], query["redirect_uri"]) == ("st", CLIENT.redirect_uri)


def test_exchange_code_returns_a_long_lived_user_token(cassette: Cassette) -> None:
    replay = cassette("facebook/oauth_exchange")
    credentials = FacebookConnector.exchange_code(
        CLIENT, code="AQD-code", code_verifier="", base_url=f"{replay.url}/v25.0"
    )
    assert credentials.access_token == "EAA-long"
    assert credentials.expires_at is not None


def test_refresh_keeps_the_page_token(cassette: Cassette) -> None:
    replay = cassette("facebook/oauth_refresh")
    old = Credentials(access_token="EAA-long", data={"page_access_token": "page-token"})
    new = FacebookConnector.refresh(CLIENT, old, base_url=f"{replay.url}/v25.0")
    assert new.access_token == "EAA-long-2"
    assert new.data == {"page_access_token": "page-token"}
    assert new.refresh_token == ""


def test_list_pages(cassette: Cassette) -> None:
    replay = cassette("facebook/list_pages")
    (page,) = FacebookConnector.list_pages(Credentials(access_token="EAA-long"), base_url=f"{replay.url}/v25.0")
    assert (page.id, page.name, page.access_token) == (PAGE, "کافه سخن", "page-token")
    assert "CREATE_CONTENT" in page.tasks
