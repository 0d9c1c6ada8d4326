"""Contract tests for the Mastodon connector against recorded, documented exchanges."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import OAuthClient
from sokhan.networks.connectors.mastodon import MastodonConnector, html_to_text
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
from sokhan.networks.types import (
    Account,
    Capability,
    Credentials,
    MediaFile,
    MessageKind,
    ProfileUpdate,
    PublishRequest,
    RemoteMessage,
)

Cassette = Callable[[str], Replay]


def connect(replay: Replay) -> MastodonConnector:
    return MastodonConnector(Account(base_url=replay.url), Credentials(access_token="tok-123"), timeout=5)


def png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x00\xff\x00\x00\xff\x00\x00"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def test_registered_with_declared_capabilities() -> None:
    cls = registry.get("mastodon")
    assert cls is MastodonConnector
    assert cls.has(Capability.PUBLISH_VIDEO) and cls.has(Capability.SEND_DM) and cls.has(Capability.SEARCH)
    assert not cls.has(Capability.HIDE)
    assert cls.limits.max_text == 500 and cls.limits.media.max_count == 4 and cls.limits.media.alt_text_max == 1500


def test_verify_reads_profile(cassette: Cassette) -> None:
    profile = connect(cassette("mastodon/verify")).verify()
    assert profile.remote_id == "109302" and profile.handle == "sokhan"
    assert profile.display_name == "سخن" and profile.bio == "مدیریت شبکه‌های اجتماعی"
    assert profile.followers == 120 and profile.links == ("sokhan.example",)


def test_publish_text_sends_idempotency_key(cassette: Cassette) -> None:
    replay = cassette("mastodon/publish_text")
    connector = connect(replay)
    result = connector.publish(
        PublishRequest(text="سلام دنیا 👋 #سخن", idempotency_key="post-7-ch-3", options={"visibility": "unlisted"})
    )
    assert result.remote_id == "110001"
    assert result.url == "https://mastodon.example/@sokhan/110001"
    assert result.published_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert connector.last_rate_limit is not None and connector.last_rate_limit.remaining == 299
    assert connector.last_rate_limit.reset_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_publish_image_uploads_with_alt_text(cassette: Cassette, tmp_path: Path) -> None:
    replay = cassette("mastodon/publish_image")
    image = MediaFile(path=png(tmp_path / "cat.png"), mime_type="image/png", alt_text="یک گربه")
    result = connect(replay).publish(PublishRequest(text="با تصویر", idempotency_key="img-1", media=(image,)))
    assert result.remote_id == "110002"


def test_publish_thread_chains_replies(cassette: Cassette) -> None:
    replay = cassette("mastodon/publish_thread")
    result = connect(replay).publish(PublishRequest(text="one", idempotency_key="th", thread=("two", "three")))
    assert result.remote_id == "110010"
    assert result.thread_ids == ("110011", "110012")


def test_publish_refuses_too_many_media_before_sending(tmp_path: Path) -> None:
    connector = MastodonConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"))
    image = MediaFile(path=tmp_path / "a.png", mime_type="image/png")
    with pytest.raises(Rejected, match="at most 4 media"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(image,) * 5))


def test_validation_error_is_rejected_with_reason(cassette: Cassette) -> None:
    with pytest.raises(Rejected) as info:
        connect(cassette("mastodon/publish_validation_error")).publish(
            PublishRequest(text="x" * 600, idempotency_key="bad")
        )
    assert "character limit of 500" in info.value.reason


def test_gateway_timeout_on_publish_is_outcome_unknown(cassette: Cassette) -> None:
    with pytest.raises(OutcomeUnknown):
        connect(cassette("mastodon/publish_gateway_timeout")).publish(PublishRequest(text="x", idempotency_key="gw"))


def test_revoked_token_is_auth_expired(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired, match="revoked"):
        connect(cassette("mastodon/expired_token")).verify()


def test_rate_limit_reports_retry_after(cassette: Cassette) -> None:
    with pytest.raises(RateLimited) as info:
        connect(cassette("mastodon/rate_limited")).verify()
    assert info.value.retry_after == 120.0


def test_server_error_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient):
        connect(cassette("mastodon/server_error")).post_metrics(["110001"])


def test_unreachable_instance_is_transient() -> None:
    connector = MastodonConnector(Account(base_url="http://127.0.0.1:9"), Credentials(access_token="t"), timeout=2)
    with pytest.raises(Transient):
        connector.verify()


def test_delete(cassette: Cassette) -> None:
    connect(cassette("mastodon/delete")).delete("110001")


def test_comments_are_descendants_newer_than_cursor(cassette: Cassette) -> None:
    page = connect(cassette("mastodon/comments")).fetch_comments("110010", post_ids=["110001"])
    assert [m.remote_id for m in page.items] == ["110020"]
    comment = page.items[0]
    assert comment.kind is MessageKind.COMMENT and comment.root_id == "110001" and comment.in_reply_to == "110001"
    assert comment.text == "@sokhan عالی بود!" and comment.author_handle == "reza@other.example"
    assert page.cursor == "110020"


def test_mentions_skip_direct_messages_and_advance_cursor(cassette: Cassette) -> None:
    page = connect(cassette("mastodon/mentions")).fetch_mentions("34970")
    assert [m.remote_id for m in page.items] == ["110030"]
    assert page.items[0].kind is MessageKind.MENTION and page.items[0].text == "@sokhan سلام & درود"
    assert page.cursor == "34975"


def test_dms_from_conversations(cassette: Cassette) -> None:
    page = connect(cassette("mastodon/dms")).fetch_dms()
    assert len(page.items) == 1
    dm = page.items[0]
    assert dm.kind is MessageKind.DM and dm.conversation_id == "418450" and dm.text == "@sokhan یک سؤال خصوصی"


def test_reply_mentions_the_author(cassette: Cassette) -> None:
    to = RemoteMessage(
        remote_id="110020",
        kind=MessageKind.COMMENT,
        text="عالی بود!",
        author_id="200001",
        author_handle="reza@other.example",
        created_at=datetime.now(UTC),
    )
    result = connect(cassette("mastodon/reply")).reply(to, "ممنون", idempotency_key="r-1")
    assert result.remote_id == "110050"


def test_send_dm_looks_up_the_account(cassette: Cassette) -> None:
    result = connect(cassette("mastodon/send_dm")).send_dm("200001", "سلام", idempotency_key="dm-1")
    assert result.remote_id == "110060"


def test_like(cassette: Cassette) -> None:
    connect(cassette("mastodon/like")).like("110020")


def test_search_is_oldest_first_with_cursor(cassette: Cassette) -> None:
    page = connect(cassette("mastodon/search")).search("سخن", cursor="110000")
    assert [m.remote_id for m in page.items] == ["110065", "110070"]
    assert page.items[0].kind is MessageKind.POST and page.cursor == "110070"


def test_post_metrics(cassette: Cassette) -> None:
    [metrics] = connect(cassette("mastodon/post_metrics")).post_metrics(["110001"])
    assert (metrics.likes, metrics.shares, metrics.comments, metrics.views) == (7, 3, 2, None)


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("mastodon/account_metrics")).account_metrics()
    assert (metrics.followers, metrics.following, metrics.posts) == (120, 15, 42)


def test_update_profile_puts_website_in_fields(cassette: Cassette) -> None:
    profile = connect(cassette("mastodon/update_profile")).update_profile(
        ProfileUpdate(display_name="سخن نو", bio="بیو تازه", url="https://new.example")
    )
    assert profile.display_name == "سخن نو" and profile.bio == "بیو تازه" and profile.links == ("https://new.example",)


def test_oauth_per_instance_with_pkce(cassette: Cassette) -> None:
    replay = cassette("mastodon/oauth")
    client = MastodonConnector.register_app(replay.url, redirect_uri="https://sokhan.example/oauth/callback")
    assert client.client_id == "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM"
    url = MastodonConnector.authorization_url(client, state="st", code_challenge="ch", base_url=replay.url)
    split = urlsplit(url)
    assert f"{split.scheme}://{split.netloc}{split.path}" == f"{replay.url}/oauth/authorize"
    query = parse_qs(split.query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] == ["ch"]
    assert query["scope"] == ["read write"] and query["state"] == ["st"] and query["response_type"] == ["code"]
    creds = MastodonConnector.exchange_code(
        client, code="abc", code_verifier="verifier-1234567890", base_url=replay.url
    )
    assert creds.access_token == "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0" and creds.scopes == ("read", "write")
    with pytest.raises(Rejected, match="authorization grant is invalid"):
        MastodonConnector.exchange_code(client, code="used", code_verifier="v", base_url=replay.url)


def test_oauth_needs_the_instance() -> None:
    client = OAuthClient(client_id="c", client_secret="s", redirect_uri="https://x/cb")
    with pytest.raises(Rejected, match="instance URL"):
        MastodonConnector.authorization_url(client, state="s", code_challenge="c")


def test_html_to_text() -> None:
    assert html_to_text("<p>a<br>b</p><p>c &amp; d</p>") == "a\nb\nc & d"
