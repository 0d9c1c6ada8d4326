"""Contract tests for media in replies and direct messages, and for messaging a commenter privately,
against recorded exchanges shaped like each network's documented API (the cassette's ``doc``)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.networks import (
    test_bale,
    test_bluesky,
    test_facebook,
    test_instagram,
    test_mastodon,
    test_matrix,
    test_telegram,
    test_x,
)
from tests.networks.replay import Replay

from sokhan.networks import registry
from sokhan.networks.base import CAPABILITY_METHODS
from sokhan.networks.connectors.bluesky.tid import tid_for
from sokhan.networks.errors import AuthExpired, Rejected
from sokhan.networks.types import Account, Capability, Credentials, MediaFile, MessageKind, RemoteMessage

Cassette = Callable[[str], Replay]


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


def image(tmp_path: Path, name: str = "a.png", alt: str = "") -> MediaFile:
    return MediaFile(png(tmp_path / name), "image/png", alt_text=alt, width=2, height=1)


def video(tmp_path: Path) -> MediaFile:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return MediaFile(path, "video/mp4", width=2, height=2, duration_seconds=1.5)


def message(remote_id: str, kind: MessageKind = MessageKind.COMMENT, **extra: str) -> RemoteMessage:
    values = {"author_id": "200001", "author_handle": "reza@other.example", **extra}
    return RemoteMessage(
        remote_id=remote_id,
        kind=kind,
        text="?",
        author_id=values.pop("author_id"),
        author_handle=values.pop("author_handle"),
        created_at=datetime.now(UTC),
        **values,  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------------------- the interface


def test_capabilities_map_to_the_operations_that_carry_them() -> None:
    assert CAPABILITY_METHODS[Capability.REPLY_MEDIA] == "reply"
    assert CAPABILITY_METHODS[Capability.DM_MEDIA] == "send_dm"
    assert CAPABILITY_METHODS[Capability.PRIVATE_REPLY] == "private_reply"
    media = {c.key for c in registry.all_connectors() if c.has(Capability.REPLY_MEDIA)}
    assert media == {"bale", "bluesky", "facebook", "mastodon", "matrix", "telegram", "x"}
    direct = {c.key for c in registry.all_connectors() if c.has(Capability.DM_MEDIA)}
    assert direct == {"bale", "mastodon", "matrix", "telegram"}
    private = {c.key for c in registry.all_connectors() if c.has(Capability.PRIVATE_REPLY)}
    assert private == {"facebook", "instagram"}


@pytest.mark.parametrize("network", ["wordpress", "youtube", "linkedin", "threads", "instagram"])
def test_networks_without_media_in_replies_refuse_it_by_name_before_any_call(network: str, tmp_path: Path) -> None:
    cls = registry.get(network)
    connector = cls(Account(base_url="http://127.0.0.1:9", target="x", remote_id="1"), Credentials(access_token="t"))
    with pytest.raises(Rejected, match=f"{cls.name} cannot attach media to replies") as info:
        connector.reply(message("12", root_id="5"), "hi", media=[image(tmp_path)])
    assert info.value.field == "media" and info.value.network == network


def test_reply_limits_are_checked_before_sending(tmp_path: Path) -> None:
    facebook = registry.get("facebook")
    with pytest.raises(Rejected, match="at most 1 media"):
        facebook.check_reply_media([image(tmp_path, "a.png"), image(tmp_path, "b.png")])
    with pytest.raises(Rejected, match="does not accept video/mp4"):
        facebook.check_reply_media([video(tmp_path)])
    with pytest.raises(Rejected, match="cannot attach media to direct messages"):
        facebook.check_reply_media([image(tmp_path)], direct=True)
    with pytest.raises(Rejected, match="cannot mix images and video"):
        registry.get("mastodon").check_reply_media([image(tmp_path), video(tmp_path)])
    registry.get("matrix").check_reply_media([video(tmp_path)], direct=True)  # m.video is fine


# ----------------------------------------------------------------------------- replies with media


def test_bluesky_reply_carries_an_images_embed(cassette: Cassette, tmp_path: Path) -> None:
    parent = f"at://{test_bluesky.OTHER}/app.bsky.feed.post/3ksm7aaaaaa22"
    to = message(parent, author_id=test_bluesky.OTHER, author_handle="reza.test")
    result = test_bluesky.connect(cassette("bluesky/reply_image")).reply(
        to, "این هم عکس منو", media=[image(tmp_path, alt="منوی کافه")], idempotency_key="ri-1"
    )
    assert result.remote_id.endswith(tid_for("ri-1"))


def test_mastodon_reply_and_direct_message_carry_media_ids(cassette: Cassette, tmp_path: Path) -> None:
    picture = image(tmp_path, alt="یک گربه")
    reply = test_mastodon.connect(cassette("mastodon/reply_media")).reply(
        message("110020"), "منوی امروز", media=[picture], idempotency_key="r-2"
    )
    assert reply.remote_id == "110051"
    direct = test_mastodon.connect(cassette("mastodon/send_dm_media")).send_dm(
        "200001", "رسید خرید", media=[picture], idempotency_key="dm-3"
    )
    assert direct.remote_id == "110061"


def test_telegram_photo_and_album_replies_answer_the_comment(cassette: Cassette, tmp_path: Path) -> None:
    to = message(f"{test_telegram.GROUP}:501", author_id="42")
    one = test_telegram.connect(cassette("telegram/reply_photo")).reply(to, "منوی امروز", media=[image(tmp_path)])
    assert one.remote_id == f"{test_telegram.GROUP}:507"
    two = test_telegram.connect(cassette("telegram/reply_album")).reply(
        to, "دو عکس", media=[image(tmp_path, "a.png"), image(tmp_path, "b.png")]
    )
    assert two.remote_id == f"{test_telegram.GROUP}:508,509"


def test_telegram_caption_limit(tmp_path: Path) -> None:
    connector = test_telegram.connect(base_url="http://127.0.0.1:9")
    with pytest.raises(Rejected, match="caption"):
        connector.reply(message(f"{test_telegram.GROUP}:501"), "ب" * 1025, media=[image(tmp_path)])


def test_bale_photo_reply_uses_reply_to_message_id(cassette: Cassette, tmp_path: Path) -> None:
    result = test_bale.connect(cassette("bale/reply_photo")).reply(
        message("6098765432:40", MessageKind.MENTION), "منو", media=[image(tmp_path)]
    )
    assert result.remote_id == "6098765432:43"


def test_matrix_image_reply_relates_to_the_message(cassette: Cassette, tmp_path: Path) -> None:
    to = message("$c1", author_id="@bob:example.org", conversation_id=test_matrix.ROOM)
    dot = MediaFile(test_matrix.png(tmp_path / "dot.png"), "image/png", width=1, height=1)
    result = test_matrix.connect(cassette("matrix/reply_image")).reply(
        to, "منوی امروز", media=[dot], idempotency_key="r-img"
    )
    assert result.remote_id == "$rimg"


def test_x_reply_carries_media_ids(cassette: Cassette, tmp_path: Path) -> None:
    to = message("1460323737035677698", MessageKind.MENTION, author_id="6253282", author_handle="ali")
    result = test_x.connect(cassette("x/reply_media")).reply(to, "منوی امروز", media=[image(tmp_path)])
    assert result.remote_id == "1445880548472328199"


def test_facebook_photo_reply_attaches_an_unpublished_photo(cassette: Cassette, tmp_path: Path) -> None:
    result = test_facebook.connect(cassette("facebook/reply_photo")).reply(
        message("1_3", root_id="1"), "منوی امروز", media=[image(tmp_path)]
    )
    assert result.remote_id == "1_5"


# ----------------------------------------------------------------------------- direct and private messages


def test_telegram_direct_message_and_a_person_who_never_wrote_to_the_bot(cassette: Cassette) -> None:
    sent = test_telegram.connect(cassette("telegram/send_dm")).send_dm("42", "سلام مریم، پیگیری می‌کنیم")
    assert (sent.remote_id, sent.conversation_id) == ("42:12", "42")
    # A 403 in a private chat is about the person, not the bot's token: refused, never "reconnect".
    with pytest.raises(Rejected, match="started a chat with it") as info:
        test_telegram.connect(cassette("telegram/send_dm_not_started")).send_dm("43", "سلام")
    assert not isinstance(info.value, AuthExpired) and info.value.field == "recipient"


def test_bale_direct_message_with_a_video(cassette: Cassette, tmp_path: Path) -> None:
    sent = test_bale.connect(cassette("bale/send_dm_video")).send_dm("1234567", "راهنما", media=[video(tmp_path)])
    assert (sent.remote_id, sent.conversation_id) == ("1234567:5", "1234567")


def test_matrix_direct_message_with_a_video_names_its_room(cassette: Cassette, tmp_path: Path) -> None:
    sent = test_matrix.connect(cassette("matrix/send_dm_video")).send_dm(
        "@bob:example.org", "راهنمای نصب", media=[video(tmp_path)], idempotency_key="dm-v"
    )
    assert (sent.remote_id, sent.conversation_id) == ("$dmv", "!dm:example.org")


def test_facebook_private_reply_answers_the_comment_in_messenger(cassette: Cassette) -> None:
    sent = test_facebook.connect(cassette("facebook/private_reply")).private_reply(
        message("1_3", root_id="1"), "سلام، شماره سفارشتان را بفرستید"
    )
    assert sent.conversation_id == "1254459154682919" and sent.remote_id.startswith("m_")


def test_facebook_private_reply_refusals_say_why(cassette: Cassette) -> None:
    connector = test_facebook.connect(cassette("facebook/private_reply_refused"))
    with pytest.raises(Rejected, match="already sent"):
        connector.private_reply(message("1_3"), "again")
    with pytest.raises(Rejected, match="7 days"):
        connector.private_reply(message("1_2"), "late")


def test_facebook_answers_a_messenger_conversation(cassette: Cassette) -> None:
    sent = test_facebook.connect(cassette("facebook/send_dm")).send_dm("1254459154682919", "سفارش شما ارسال شد")
    assert sent.conversation_id == "1254459154682919"


def test_instagram_private_reply_and_answer(cassette: Cassette) -> None:
    comment = message("17858893269000003", author_id="17841400000000001", author_handle="sara")
    sent = test_instagram.connect(cassette("instagram/private_reply")).private_reply(
        comment, "سلام سارا، جزئیات را در دایرکت بفرستید"
    )
    assert sent.conversation_id == "526401234567890"
    answer = test_instagram.connect(cassette("instagram/send_dm")).send_dm("526401234567890", "ممنون از پیامتان")
    assert answer.remote_id.startswith("aWdf")


def test_instagram_private_replies_answer_comments_only() -> None:
    cls = registry.get("instagram")
    assert cls.private_reply_kinds == frozenset({MessageKind.COMMENT})
    connector = cls(Account(base_url="http://127.0.0.1:9", remote_id="1"), Credentials(access_token="t"))
    with pytest.raises(Rejected, match="comments only"):
        connector.private_reply(message("1", MessageKind.MENTION), "hi")
