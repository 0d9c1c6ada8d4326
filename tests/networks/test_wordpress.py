"""WordPress connector against recorded REST API exchanges (shapes from developer.wordpress.org)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.connectors.wordpress import WordPressConnector, slug_for
from sokhan.networks.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, Transient
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
CREDS = Credentials(username="admin", password="abcd EFGH 1234 ijkl MNOP 6789")


def connect(replay: Replay, creds: Credentials = CREDS, **options: str) -> WordPressConnector:
    return WordPressConnector(Account(base_url=replay.url, remote_id="1", options=options), creds)


def png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


def test_registered_with_its_capabilities() -> None:
    cls = registry.get("wordpress")
    assert cls is WordPressConnector
    assert cls.has(Capability.PUBLISH_IMAGE) and cls.has(Capability.HIDE) and cls.has(Capability.POST_METRICS)
    assert not cls.has(Capability.LIKE)
    assert cls.limits.title_max == 65_535


def test_slug_is_stable_per_key_and_ascii() -> None:
    assert slug_for("Hello world", "k1") == slug_for("Hello world", "k1")
    assert slug_for("Hello world", "k1") != slug_for("Hello world", "k2")
    assert slug_for("سلام دنیا", "k1").startswith("sk")
    assert slug_for("Hello, World!", "k1").startswith("hello-world-sk")


def test_verify_reads_user_and_site(cassette: Cassette) -> None:
    replay = cassette("wordpress/verify")
    profile = connect(replay).verify()
    assert profile.remote_id == "1"
    assert profile.handle == "admin"
    assert profile.display_name == "وبلاگ سخن"
    assert profile.url == "https://blog.example.com"
    assert profile.avatar_url.endswith("s=96")


def test_publish_uploads_featured_image_then_creates_post(cassette: Cassette, tmp_path: Path) -> None:
    replay = cassette("wordpress/publish_image")
    image = MediaFile(path=png(tmp_path / "dot.png"), mime_type="image/png", alt_text="a red dot")
    result = connect(replay).publish(
        PublishRequest(text="<p>سلام دنیا</p>", title="Hello world", idempotency_key="post-1", media=(image,))
    )
    assert result.remote_id == "5"
    assert result.url == f"https://blog.example.com/{slug_for('Hello world', 'post-1')}/"
    assert result.published_at == datetime(2026, 3, 21, 4, 0, tzinfo=UTC)


def test_retried_publish_returns_the_existing_post(cassette: Cassette) -> None:
    replay = cassette("wordpress/publish_retry_finds_post")
    result = connect(replay).publish(
        PublishRequest(text="<p>سلام دنیا</p>", title="Hello world", idempotency_key="post-1")
    )
    assert result.remote_id == "5"
    assert len(replay.requests) == 1  # no second POST


def test_publish_refuses_video_before_any_request(tmp_path: Path) -> None:
    connector = WordPressConnector(Account(base_url="http://127.0.0.1:9"), CREDS)
    video = MediaFile(path=tmp_path / "a.mp4", mime_type="video/mp4")
    with pytest.raises(Rejected, match="cannot publish video"):
        connector.publish(PublishRequest(text="x", idempotency_key="k", media=(video,)))


def test_delete_trashes_tolerates_already_trashed_and_forces(cassette: Cassette) -> None:
    replay = cassette("wordpress/delete")
    connector = connect(replay)
    connector.delete("5")
    connector.delete("5")  # 410 rest_already_trashed: already gone is success
    WordPressConnector(Account(base_url=replay.url, options={"delete": "force"}), CREDS).delete("6")
    with pytest.raises(Rejected, match="not allowed to delete") as info:
        connector.delete("7")
    assert info.value.detail == "rest_cannot_delete"


def test_comments_paginate_skip_our_own_and_resume_from_cursor(cassette: Cassette) -> None:
    replay = cassette("wordpress/comments")
    connector = connect(replay)
    page = connector.fetch_comments(post_ids=["5"])
    assert [m.remote_id for m in page.items] == ["11", "13"]  # 12 is our own reply
    first, held = page.items
    assert first.kind is MessageKind.COMMENT
    assert first.text == "عالی بود!"
    assert (first.author_id, first.author_handle, first.root_id, first.in_reply_to) == ("2", "Bob", "5", "5")
    assert held.author_id == ""  # an anonymous commenter
    assert held.raw["status"] == "hold"
    assert page.cursor == "2026-03-21T04:12:00|13"
    later = connector.fetch_comments(page.cursor, post_ids=["5"])
    assert [m.remote_id for m in later.items] == ["14"]  # 13 came back in the safety window and is dropped
    assert later.cursor == "2026-03-21T04:20:00|14"


def test_reply_threads_under_the_comment_and_a_retry_finds_it(cassette: Cassette) -> None:
    replay = cassette("wordpress/reply")
    connector = connect(replay)
    comment = RemoteMessage(
        remote_id="11",
        kind=MessageKind.COMMENT,
        text="عالی بود!",
        author_id="2",
        author_handle="Bob",
        created_at=datetime(2026, 3, 21, 4, 10, tzinfo=UTC),
        root_id="5",
    )
    first = connector.reply(comment, "ممنون از شما", idempotency_key="r-1")
    again = connector.reply(comment, "ممنون از شما", idempotency_key="r-1")
    assert first.remote_id == again.remote_id == "15"


def test_hide_holds_the_comment(cassette: Cassette) -> None:
    replay = cassette("wordpress/hide")
    connect(replay).hide("13")
    assert replay.requests[0]["path"] == "/wp-json/wp/v2/comments/13"


def test_post_metrics_are_comment_counts_only(cassette: Cassette) -> None:
    replay = cassette("wordpress/post_metrics")
    busy, quiet = connect(replay).post_metrics(["5", "6"])
    assert (busy.remote_id, busy.comments, quiet.comments) == ("5", 3, 0)
    assert busy.views is None and busy.likes is None and busy.shares is None


def test_errors_map_to_typed_errors(cassette: Cassette) -> None:
    replay = cassette("wordpress/errors")
    connector = connect(replay)
    with pytest.raises(AuthExpired, match="application password"):
        connector.verify()
    with pytest.raises(RateLimited) as limited:
        connector.verify()
    assert limited.value.retry_after == 30.0
    with pytest.raises(Rejected) as rejected:
        connector.publish(
            PublishRequest(text="x", title="Hello world", idempotency_key="post-1", options={"status": "sometimes"})
        )
    assert rejected.value.reason == "Invalid parameter(s): status"
    assert rejected.value.field == "status"
    with pytest.raises(Transient):
        connector.post_metrics(["5"])
    with pytest.raises(OutcomeUnknown):
        connector.hide("13")


def test_unreachable_site_is_transient() -> None:
    connector = WordPressConnector(Account(base_url="http://127.0.0.1:9"), CREDS, timeout=2)
    with pytest.raises(Transient):
        connector.verify()
