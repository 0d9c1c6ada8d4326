"""Contract tests for the Bluesky connector against recorded, documented XRPC exchanges."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.connectors.bluesky import BlueskyConnector
from sokhan.networks.connectors.bluesky import facets as richtext
from sokhan.networks.connectors.bluesky.tid import is_tid, tid_for
from sokhan.networks.errors import AuthExpired, RateLimited, Rejected, Transient
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
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
OTHER = "did:plc:z72i7hdynmk6r22z27h6tvur"


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()


def jwt(kind: str, n: int = 1) -> str:
    """The same fake session tokens the cassettes were recorded with (expiring in 2100)."""
    header = {"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "HS256"}
    payload = {
        "scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
        "sub": DID,
        "iat": 1714550400 + n,
        "exp": 4102444800,
        "aud": "did:web:bsky.social",
    }
    return f"{_b64(header)}.{_b64(payload)}.sig{kind}{n}"


def session_creds() -> Credentials:
    return Credentials(
        access_token=jwt("access"),
        refresh_token=jwt("refresh"),
        username="sokhan.bsky.social",
        data={"did": DID, "handle": "sokhan.bsky.social"},
    )


def connect(replay: Replay, credentials: Credentials | None = None) -> BlueskyConnector:
    return BlueskyConnector(Account(base_url=replay.url), credentials or session_creds(), timeout=5)


def png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


# ------------------------------------------------------------------ pure helpers


def test_registered_with_declared_capabilities() -> None:
    cls = registry.get("bluesky")
    assert cls is BlueskyConnector
    assert cls.has(Capability.PUBLISH_IMAGE) and cls.has(Capability.LIKE)
    assert not cls.has(Capability.PUBLISH_VIDEO) and not cls.has(Capability.DMS)
    assert cls.limits.max_text == 300 and cls.limits.media.max_image_bytes == 1_000_000


def test_facets_use_utf8_byte_offsets_with_persian_and_emoji() -> None:
    text = "👋 سلام @reza.test، ببین https://example.com/x?a=1. و #سخن_نو! #۱۲۳ #fa‌ir"
    spans = richtext.detect(text)
    raw = text.encode("utf-8")
    got = [(s.kind, s.value, raw[s.start : s.end].decode()) for s in spans]
    assert got == [
        ("mention", "reza.test", "@reza.test"),
        ("link", "https://example.com/x?a=1", "https://example.com/x?a=1"),
        ("tag", "سخن_نو", "#سخن_نو"),
        ("tag", "fa", "#fa"),  # a ZWNJ ends a tag, as in the official detector; digits-only tags are not tags
    ]
    mention = spans[0]
    assert mention.start == len("👋 سلام ".encode()) and mention.start != len("👋 سلام ")


def test_unresolvable_mentions_stay_plain_text() -> None:
    out = richtext.facets("hi @ghost.test and @reza.test", lambda h: OTHER if h == "reza.test" else None)
    assert [f["features"][0] for f in out] == [{"$type": "app.bsky.richtext.facet#mention", "did": OTHER}]
    assert out[0]["index"] == {"byteStart": 19, "byteEnd": 29}


def test_record_keys_are_deterministic_tids() -> None:
    assert tid_for("post-1") == tid_for("post-1") != tid_for("post-2")
    assert all(is_tid(tid_for(f"k{i}")) for i in range(200))
    assert not is_tid("abc-key")


def test_graphemes_count_persian_and_emoji_as_people_see_them() -> None:
    assert richtext.graphemes("سلام 👨‍👩‍👧") == 6


# ------------------------------------------------------------------ recorded exchanges


def test_verify_reads_profile(cassette: Cassette) -> None:
    profile = connect(cassette("bluesky/verify")).verify()
    assert profile.remote_id == DID and profile.handle == "sokhan.bsky.social"
    assert profile.display_name == "سخن" and profile.followers == 321 and profile.posts == 45


def test_login_with_app_password_creates_a_session(cassette: Cassette) -> None:
    replay = cassette("bluesky/login")
    connector = connect(replay, Credentials(username="sokhan.bsky.social", password="abcd-efgh-ijkl-mnop"))
    assert connector.verify().handle == "sokhan.bsky.social"
    assert connector.credentials_changed
    assert connector.credentials.access_token == jwt("access") and connector.credentials.data["did"] == DID


def test_wrong_app_password_is_auth_expired(cassette: Cassette) -> None:
    connector = connect(cassette("bluesky/login_wrong_password"), Credentials(username="x.test", password="nope"))
    with pytest.raises(AuthExpired, match="Invalid identifier or password"):
        connector.verify()


def test_expired_access_token_is_refreshed_and_the_call_retried(cassette: Cassette) -> None:
    connector = connect(cassette("bluesky/expired_token_refresh"))
    assert connector.verify().remote_id == DID
    assert connector.credentials_changed and connector.credentials.refresh_token == jwt("refresh", 2)


def test_expired_refresh_token_without_password_is_auth_expired(cassette: Cassette) -> None:
    with pytest.raises(AuthExpired):
        connect(cassette("bluesky/expired_refresh_token")).verify()


def test_rate_limit(cassette: Cassette) -> None:
    connector = connect(cassette("bluesky/rate_limited"))
    with pytest.raises(RateLimited) as info:
        connector.verify()
    assert info.value.retry_after == 90.0
    assert connector.last_rate_limit is not None and connector.last_rate_limit.remaining == 0


def test_server_error_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient):
        connect(cassette("bluesky/server_error")).post_metrics([f"at://{DID}/app.bsky.feed.post/3ksm7aaaaaa22"])


def test_publish_text_with_facets_and_deterministic_rkey(cassette: Cassette) -> None:
    text = "سلام @reza.test 👋 ببین https://example.com/a?b=1. #سخن_نو!"
    result = connect(cassette("bluesky/publish_text")).publish(
        PublishRequest(text=text, idempotency_key="post-1", options={"langs": "fa"})
    )
    assert result.remote_id == f"at://{DID}/app.bsky.feed.post/{tid_for('post-1')}"
    assert result.url == f"https://bsky.app/profile/sokhan.bsky.social/post/{tid_for('post-1')}"


def test_retried_publish_returns_the_existing_record(cassette: Cassette) -> None:
    result = connect(cassette("bluesky/publish_duplicate")).publish(
        PublishRequest(text="again", idempotency_key="post-1")
    )
    assert result.remote_id == f"at://{DID}/app.bsky.feed.post/{tid_for('post-1')}"


def test_failed_publish_that_did_not_land_is_transient(cassette: Cassette) -> None:
    with pytest.raises(Transient):
        connect(cassette("bluesky/publish_failure_not_written")).publish(
            PublishRequest(text="x", idempotency_key="post-1")
        )


def test_validation_error_is_rejected_with_the_reason(cassette: Cassette) -> None:
    with pytest.raises(Rejected, match="must be an valid atproto datetime"):
        connect(cassette("bluesky/publish_validation_error")).publish(PublishRequest(text="x", idempotency_key="v"))


def test_too_long_text_is_refused_before_sending() -> None:
    connector = BlueskyConnector(Account(base_url="http://127.0.0.1:9"), session_creds())
    with pytest.raises(Rejected, match="300 graphemes"):
        connector.publish(PublishRequest(text="س" * 301, idempotency_key="k"))
    connector._check_text("👨‍👩‍👧" * 160)  # 160 graphemes in 2880 bytes: fine
    with pytest.raises(Rejected, match="3000 UTF-8 bytes"):
        connector._check_text("👨‍👩‍👧" * 200)  # 200 graphemes but 3600 bytes


def test_publish_image_uploads_blob_with_alt_text(cassette: Cassette, tmp_path: Path) -> None:
    image = MediaFile(png(tmp_path / "cat.png"), "image/png", alt_text="یک گربه", width=2, height=1)
    result = connect(cassette("bluesky/publish_image")).publish(
        PublishRequest(text="گربه", idempotency_key="img-1", media=(image,))
    )
    assert result.remote_id.endswith(tid_for("img-1"))


def test_image_over_one_megabyte_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff" * 1_000_001)
    connector = BlueskyConnector(Account(base_url="http://127.0.0.1:9"), session_creds())
    with pytest.raises(Rejected, match="at most 1000000"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(MediaFile(big, "image/jpeg"),)))


def test_reply_thread_keeps_the_root(cassette: Cassette) -> None:
    parent = f"at://{OTHER}/app.bsky.feed.post/3ksm7aaaaaa22"
    result = connect(cassette("bluesky/publish_reply_thread")).publish(
        PublishRequest(text="پاسخ ۱", idempotency_key="rt", reply_to=parent, thread=("پاسخ ۲",))
    )
    assert result.remote_id.endswith(tid_for("rt")) and result.thread_ids[0].endswith(tid_for("rt#1"))


def test_delete(cassette: Cassette) -> None:
    connect(cassette("bluesky/delete")).delete(f"at://{DID}/app.bsky.feed.post/{tid_for('post-1')}")


def test_comments_walk_the_thread_after_the_cursor(cassette: Cassette) -> None:
    uri = f"at://{DID}/app.bsky.feed.post/{tid_for('post-1')}"
    page = connect(cassette("bluesky/comments")).fetch_comments("2024-05-01T10:02:00.000Z", post_ids=[uri])
    assert [m.text for m in page.items] == ["عالی بود 👏", "موافقم"]
    assert all(m.kind is MessageKind.COMMENT and m.root_id == uri for m in page.items)
    assert page.items[1].in_reply_to == page.items[0].remote_id
    assert page.cursor == "2024-05-01T10:06:00.000Z"


def test_mentions_and_replies_from_notifications(cassette: Cassette) -> None:
    page = connect(cassette("bluesky/mentions")).fetch_mentions("2024-05-01T09:00:00.000Z")
    assert [(m.kind, m.text) for m in page.items] == [
        (MessageKind.MENTION, "@sokhan.bsky.social نظرت؟"),
        (MessageKind.COMMENT, "موافقم"),
    ]
    assert page.items[0].created_at == datetime(2024, 5, 1, 10, 4, tzinfo=UTC)
    assert page.cursor == "2024-05-01T10:06:00.000Z"


def test_like_fetches_the_cid(cassette: Cassette) -> None:
    connect(cassette("bluesky/like")).like(f"at://{OTHER}/app.bsky.feed.post/3ksm8aaaaaa22")


def test_reply_to_a_message(cassette: Cassette) -> None:
    parent = f"at://{OTHER}/app.bsky.feed.post/3ksm7aaaaaa22"
    to = RemoteMessage(parent, MessageKind.COMMENT, "سؤال؟", OTHER, "reza.test", datetime.now(UTC))
    first = connect(cassette("bluesky/reply")).reply(to, "پاسخ ۱", idempotency_key="rt")
    assert first.remote_id.endswith(tid_for("rt"))


def test_search(cassette: Cassette) -> None:
    page = connect(cassette("bluesky/search")).search("سخن", cursor="2024-05-01T09:00:00.000Z")
    assert [m.text for m in page.items] == ["درباره سخن", "سخن خوب است"]
    assert page.items[0].kind is MessageKind.POST and page.cursor == "2024-05-01T10:06:00.000Z"


def test_post_metrics(cassette: Cassette) -> None:
    [m] = connect(cassette("bluesky/post_metrics")).post_metrics([f"at://{DID}/app.bsky.feed.post/{tid_for('post-1')}"])
    assert (m.likes, m.comments, m.shares, m.views) == (9, 2, 4, None)


def test_account_metrics(cassette: Cassette) -> None:
    metrics = connect(cassette("bluesky/account_metrics")).account_metrics()
    assert (metrics.followers, metrics.following, metrics.posts) == (321, 12, 45)


def test_update_profile_merges_and_swaps(cassette: Cassette) -> None:
    profile = connect(cassette("bluesky/update_profile")).update_profile(
        ProfileUpdate(display_name="سخن نو", bio="بیو تازه ✨")
    )
    assert profile.display_name == "سخن نو" and profile.bio == "بیو تازه ✨"


def test_profile_limits_are_checked_before_sending() -> None:
    connector = BlueskyConnector(Account(base_url="http://127.0.0.1:9"), session_creds())
    with pytest.raises(Rejected, match="64 graphemes"):
        connector.update_profile(ProfileUpdate(display_name="ن" * 65))
