"""Matrix connector (matrix-nio) against recorded client-server API exchanges (shapes from spec.matrix.org)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.connectors.matrix import MAX_EVENT_BYTES, MatrixConnector
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
TOKEN = "syt_c29raGFu_kRvUWxoAmGMJpYxNmDL_0AbCdE"
ME = "@sokhan:example.org"
ROOM = "!news:example.org"


def connect(replay: Replay, *, me: str = ME, target: str = ROOM) -> MatrixConnector:
    return MatrixConnector(Account(base_url=replay.url, remote_id=me, target=target), Credentials(access_token=TOKEN))


def png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return path


def message(remote_id: str, author: str, raw: dict[str, object] | None = None) -> RemoteMessage:
    return RemoteMessage(
        remote_id=remote_id,
        kind=MessageKind.COMMENT,
        text="",
        author_id=author,
        author_handle=author,
        created_at=datetime(2026, 3, 21, tzinfo=UTC),
        conversation_id=ROOM,
        raw=raw or {},
    )


def test_registered_with_its_capabilities() -> None:
    cls = registry.get("matrix")
    assert cls is MatrixConnector
    for capability in (Capability.PUBLISH_THREAD, Capability.DMS, Capability.SEND_DM, Capability.LIKE):
        assert cls.has(capability)
    assert not cls.has(Capability.POST_METRICS)
    assert cls.limits.max_text == MAX_EVENT_BYTES


def test_login_exchanges_password_for_token(cassette: Cassette) -> None:
    replay = cassette("matrix/login")
    creds = MatrixConnector.login(replay.url, "sokhan", "s3cret")
    assert (creds.access_token, creds.username) == (TOKEN, ME)
    with pytest.raises(AuthExpired, match="login failed"):
        MatrixConnector.login(replay.url, "sokhan", "wrong")


def test_verify_reads_whoami_and_profile(cassette: Cassette) -> None:
    replay = cassette("matrix/verify")
    profile = connect(replay, me="").verify()
    assert (profile.remote_id, profile.display_name) == (ME, "سخن")
    assert profile.avatar_url == "mxc://example.org/SEsfnsuifSDFSSEF"
    assert profile.url == "https://matrix.to/#/@sokhan:example.org"


def test_publish_html_with_thread_uses_key_as_txn_id(cassette: Cassette) -> None:
    replay = cassette("matrix/publish_thread")
    result = connect(replay).publish(
        PublishRequest(
            text="<b>سلام</b> دنیا",
            link="https://sokhan.example/a",
            idempotency_key="post-1",
            thread=("part two", "part three"),
        )
    )
    assert result.remote_id == "$root"
    assert result.thread_ids == ("$part2", "$part3")


def test_publish_image_as_reply_via_alias(cassette: Cassette, tmp_path: Path) -> None:
    replay = cassette("matrix/publish_image_reply")
    image = MediaFile(path=png(tmp_path / "dot.png"), mime_type="image/png", width=1, height=1)
    result = connect(replay, target="#news:example.org").publish(
        PublishRequest(text="عکس روز", idempotency_key="post-2", media=(image,), reply_to="$earlier")
    )
    assert result.remote_id == "$image"
    assert result.raw["room_id"] == ROOM


def test_publish_refuses_oversized_event_before_sending() -> None:
    connector = MatrixConnector(Account(base_url="http://127.0.0.1:9", target=ROOM), Credentials(access_token="t"))
    with pytest.raises(Rejected, match="65,536"):
        connector.publish(PublishRequest(text="س" * 40_000, idempotency_key="big"))


def test_delete_and_hide_redact(cassette: Cassette) -> None:
    replay = cassette("matrix/delete_hide")
    connector = connect(replay)
    connector.delete("$root")
    connector.hide("$spam")


def test_like_is_a_thumbs_up_reaction_and_twice_is_fine(cassette: Cassette) -> None:
    replay = cassette("matrix/like")
    connector = connect(replay)
    connector.like("$c1")
    connector.like("$c1")  # M_DUPLICATE_ANNOTATION: already liked


def test_comments_are_replies_and_thread_messages_to_our_posts(cassette: Cassette) -> None:
    replay = cassette("matrix/comments")
    connector = connect(replay)
    page = connector.fetch_comments(post_ids=["$post1"])
    assert [m.remote_id for m in page.items] == ["$c1", "$c2"]
    reply, in_thread = page.items
    assert (reply.author_id, reply.in_reply_to, reply.root_id, reply.conversation_id) == (
        "@bob:example.org",
        "$post1",
        "$post1",
        ROOM,
    )
    assert reply.created_at == datetime(2026, 3, 21, 4, 0, 1, tzinfo=UTC)
    assert in_thread.root_id == "$post1"
    assert page.cursor == "s1"
    # A limited timeline is completed from /messages back to the cursor.
    later = connector.fetch_comments(page.cursor, post_ids=["$post1"])
    assert [m.remote_id for m in later.items] == ["$c3", "$c4"]
    assert later.cursor == "s2"


def test_mentions_follow_m_mentions_and_legacy_pills(cassette: Cassette) -> None:
    replay = cassette("matrix/mentions")
    page = connect(replay).fetch_mentions()
    assert [m.remote_id for m in page.items] == ["$x3", "$x1"]  # oldest first; $x2 opted out, $x4 is ours
    assert all(m.kind is MessageKind.MENTION for m in page.items)
    assert page.cursor == "s9"


def test_dms_accept_direct_invites_and_read_direct_rooms(cassette: Cassette) -> None:
    replay = cassette("matrix/dms")
    page = connect(replay).fetch_dms("s5")
    assert [(m.remote_id, m.conversation_id, m.text) for m in page.items] == [
        ("$d1", "!old:example.org", "سلام، سوال دارم")
    ]
    assert page.items[0].kind is MessageKind.DM
    assert page.cursor == "s6"


def test_send_dm_creates_then_reuses_the_direct_room(cassette: Cassette) -> None:
    replay = cassette("matrix/send_dm")
    connector = connect(replay)
    first = connector.send_dm("@bob:example.org", "سلام باب", idempotency_key="dm-1")
    second = connector.send_dm("@bob:example.org", "again", idempotency_key="dm-2")
    assert (first.remote_id, second.remote_id) == ("$dm1", "$dm2")
    assert first.raw["room_id"] == second.raw["room_id"] == "!dm:example.org"


def test_reply_stays_in_the_thread_and_mentions_the_author(cassette: Cassette) -> None:
    replay = cassette("matrix/reply")
    connector = connect(replay)
    threaded = message(
        "$c2",
        "@carol:example.org",
        {"content": {"m.relates_to": {"rel_type": "m.thread", "event_id": "$post1"}}},
    )
    assert connector.reply(threaded, "ممنون", idempotency_key="r-1").remote_id == "$r1"
    assert connector.reply(message("$c1", "@bob:example.org"), "sure", idempotency_key="r-2").remote_id == "$r2"


def test_profile_update_sets_name_and_avatar(cassette: Cassette, tmp_path: Path) -> None:
    replay = cassette("matrix/profile_update")
    avatar = MediaFile(path=png(tmp_path / "dot.png"), mime_type="image/png")
    profile = connect(replay).update_profile(ProfileUpdate(display_name="سخن ✓", avatar=avatar))
    assert (profile.display_name, profile.avatar_url) == ("سخن ✓", "mxc://example.org/avatar1")
    with pytest.raises(Rejected, match="only a display name"):
        connect(replay).update_profile(ProfileUpdate(bio="no bios on Matrix"))


def test_errors_map_to_typed_errors(cassette: Cassette, tmp_path: Path) -> None:
    replay = cassette("matrix/errors")
    with pytest.raises(AuthExpired, match="access token rejected"):
        connect(replay, me="").verify()
    connector = connect(replay)
    with pytest.raises(RateLimited) as limited:
        connector.publish(PublishRequest(text="a", idempotency_key="e-1"))
    assert limited.value.retry_after == 2.0
    with pytest.raises(Rejected, match="permission") as forbidden:
        connector.publish(PublishRequest(text="b", idempotency_key="e-2"))
    assert forbidden.value.detail == "M_FORBIDDEN"
    with pytest.raises(Transient):  # the txn id makes a retry safe, so not OutcomeUnknown
        connector.publish(PublishRequest(text="c", idempotency_key="e-3"))
    with pytest.raises(Transient):
        connector.verify()
    avatar = MediaFile(path=png(tmp_path / "dot.png"), mime_type="image/png")
    with pytest.raises(Rejected, match="larger than"):
        connector.update_profile(ProfileUpdate(avatar=avatar))


def test_unreachable_homeserver_is_transient() -> None:
    connector = MatrixConnector(Account(base_url="http://127.0.0.1:9", remote_id=ME), Credentials(access_token="t"))
    with pytest.raises(Transient):
        connector.verify()
