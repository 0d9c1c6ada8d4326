"""Replies with media and private messages over the API, through loopback replay servers answering
as each network's documented API does (the connector contract cassettes): media ids are checked
(this workspace, the network takes them), sent with the reply, recorded on the message and sent
again by a retry; "message privately" opens the DM conversation, linked back to the comment."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from PIL import Image
from tests.api.conftest import ApiClient, assert_error, make_token
from tests.networks.replay import Replay, ReplayServer, load

from sokhan.channels.models import Channel
from sokhan.core.models import AuditEvent, Membership, User, Workspace
from sokhan.core.services import workspace_create
from sokhan.inbox.models import Conversation, Direction, Kind, Message
from sokhan.media.models import Asset
from sokhan.media.services import asset_upload
from sokhan.networks.types import Credentials
from sokhan.ops.bench_sink import make_channel

pytestmark = pytest.mark.django_db

BASE = "/workspaces/acme/inbox"
T0 = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)
PAGE = "104086835489520"


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(owner: User, workspace: Workspace) -> ApiClient:
    return ApiClient(make_token(owner, workspace, ["write"]))


def png(size: tuple[int, int] = (2, 1), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def asset(workspace: Workspace, data: bytes | None = None, *, alt: str = "یک گربه") -> Asset:
    actor = Membership.objects.select_related("workspace", "user").filter(workspace=workspace).first()
    assert actor is not None
    return asset_upload(actor=actor, chunks=[data or png()], name="cat.png", alt_text=alt).asset


def replay(name: str, *interactions: dict[str, Any]) -> Replay:
    """A cassette without its idempotency-key check (the inbox makes a fresh key per message)."""
    recorded = load(name)
    for item in recorded.interactions:
        item["request"].get("headers", {}).pop("Idempotency-Key", None)
    recorded.interactions += list(interactions)
    return recorded


def thread(channel: Channel, key: str, *, kind: str = Kind.COMMENT, **message: Any) -> tuple[Conversation, Message]:
    conversation = Conversation.objects.create(
        workspace_id=channel.workspace_id,
        channel=channel,
        kind=kind,
        thread_key=key,
        message_count=1,
        last_message_at=T0,
        contact_remote_id=message.get("author_remote_id", "200001"),
    )
    values: dict[str, Any] = {
        "remote_id": f"{key}-m",
        "author_remote_id": "200001",
        "author_handle": "reza@other.example",
        "author_name": "Reza",
        "text": "منو را بفرستید؟",
        **message,
    }
    received = Message.objects.create(
        workspace_id=channel.workspace_id,
        conversation=conversation,
        channel=channel,
        direction=Direction.IN,
        kind=kind,
        created_at=T0 - timedelta(minutes=1),
        **values,
    )
    return conversation, received


def mastodon(workspace: Workspace, url: str) -> Channel:
    return make_channel(workspace, url, credentials=Credentials(access_token="tok-123"))


def facebook(workspace: Workspace, url: str) -> Channel:
    credentials = Credentials(access_token="EAA-long", data={"page_access_token": "page-token"})
    return make_channel(workspace, f"{url}/v25.0", network="facebook", target=PAGE, credentials=credentials)


# ----------------------------------------------------------------------------- replies with media


def test_reply_with_an_image_from_the_library(api: ApiClient, workspace: Workspace) -> None:
    picture = asset(workspace)
    with ReplayServer(replay("mastodon/reply_media")) as server:
        channel = mastodon(workspace, server.url)
        conversation, received = thread(channel, "110", remote_id="110020")
        version = conversation.version
        body = {"text": "منوی امروز", "version": version, "media": [picture.pk]}
        response = api.post(f"{BASE}/conversations/{conversation.pk}/reply", body)
    server.verify()  # the upload, then the status with media_ids[] answering 110020
    assert response.status_code == 201, response.content
    sent = response.json()["message"]
    assert sent["send_state"] == "sent" and sent["remote_id"] == "110051" and sent["in_reply_to"] == "110020"
    assert sent["attachments"] == [
        {"asset_id": picture.pk, "name": "cat.png", "mime_type": "image/png", "alt_text": "یک گربه"}
    ]
    stored = Message.objects.get(pk=sent["id"])
    assert stored.send_method == "reply" and stored.attachments[0]["path"] == str(picture.path)
    event = AuditEvent.objects.get(action="inbox.reply")
    assert event.data["media"] == [picture.pk] and event.target == f"conversation:{conversation.pk}"
    detail = api.get(f"{BASE}/conversations/{conversation.pk}").json()
    shown = {m["id"]: m for m in detail["messages"]}
    assert shown[stored.pk]["attachments"][0]["asset_id"] == picture.pk and shown[received.pk]["attachments"] == []
    assert detail["origin_message_id"] is None and detail["origin_conversation_id"] is None


def test_media_ids_are_checked_before_anything_is_sent(api: ApiClient, owner: User, workspace: Workspace) -> None:
    channel = mastodon(workspace, "http://127.0.0.1:9")  # nothing may be called
    conversation, _received = thread(channel, "v")
    url = f"{BASE}/conversations/{conversation.pk}/reply"
    other = workspace_create(owner=owner, name="Other", slug="other")
    foreign = asset(other)
    error = assert_error(api.post(url, {"text": "x", "media": [foreign.pk]}), 400, "media_unknown")
    assert str(foreign.pk) in error["message"] and error["fields"] == {"media": "unknown"}
    pictures = [asset(workspace, png(colour=(i, 0, 0))) for i in range(5)]
    error = assert_error(api.post(url, {"text": "x", "media": [p.pk for p in pictures]}), 400)
    assert "Mastodon takes at most 4 files" in error["message"] and error["fields"] == {"media": "too_many"}
    assert_error(api.post(url, {"text": "x", "media": list(range(11))}), 422)  # over the API's own cap

    press = make_channel(workspace, "http://127.0.0.1:9", network="wordpress", remote_id="2")
    blog, _comment = thread(press, "7", remote_id="12")
    error = assert_error(
        api.post(f"{BASE}/conversations/{blog.pk}/reply", {"text": "x", "media": [pictures[0].pk]}),
        400,
        "media_not_supported",
    )
    assert "WordPress" in error["message"]
    assert not Message.objects.filter(direction=Direction.OUT).exists()
    # Media alone is a reply; nothing at all is not.
    assert_error(api.post(url, {"text": " "}), 400)


def test_a_stale_view_refuses_a_reply_with_media_and_sends_nothing(api: ApiClient, workspace: Workspace) -> None:
    channel = mastodon(workspace, "http://127.0.0.1:9")
    conversation, _received = thread(channel, "s")
    picture = asset(workspace)
    payload = {"text": "x", "media": [picture.pk], "version": conversation.version - 1 or 99}
    assert_error(api.post(f"{BASE}/conversations/{conversation.pk}/reply", payload), 409, "stale_view")
    assert not Message.objects.filter(direction=Direction.OUT).exists()


def test_a_refused_reply_with_media_is_sent_again_with_the_same_files(api: ApiClient, workspace: Workspace) -> None:
    picture = asset(workspace)
    recorded = replay("mastodon/reply_media")
    upload, status = recorded.interactions
    refused = {
        "request": status["request"],
        "response": {"status": 422, "json": {"error": "Validation failed: Text is too long"}},
    }
    recorded.interactions = [upload, refused, upload, status]
    with ReplayServer(recorded) as server:
        channel = mastodon(workspace, server.url)
        conversation, _received = thread(channel, "110", remote_id="110020")
        body = {"text": "منوی امروز", "media": [picture.pk]}
        first = api.post(f"{BASE}/conversations/{conversation.pk}/reply", body).json()["message"]
        assert first["send_state"] == "failed" and "too long" in first["send_error"]
        again = api.post(f"{BASE}/messages/{first['id']}/retry")
    server.verify()
    assert again.status_code == 200, again.content
    assert again.json()["message"]["send_state"] == "sent" and again.json()["message"]["attachments"]


# ----------------------------------------------------------------------------- messaging privately


def test_message_a_commenter_privately_on_mastodon(api: ApiClient, workspace: Workspace) -> None:
    with ReplayServer(replay("mastodon/send_dm")) as server:
        channel = mastodon(workspace, server.url)
        conversation, comment = thread(channel, "c1")
        response = api.post(f"{BASE}/messages/{comment.pk}/private", {"text": "سلام"})
    server.verify()  # the account looked up, then a direct-visibility status
    assert response.status_code == 201, response.content
    body = response.json()
    dm = Conversation.objects.get(pk=body["conversation_id"])
    assert dm.kind == Kind.DM and dm.channel == channel and dm.contact_remote_id == "200001"
    assert dm.origin_message == comment and body["version"] == dm.version
    sent = body["message"]
    assert sent["send_state"] == "sent" and sent["remote_id"] == "110060" and sent["kind"] == "dm"
    assert Message.objects.get(pk=sent["id"]).send_method == "send_dm"
    event = AuditEvent.objects.get(action="inbox.private_message")
    assert event.data["from_conversation"] == conversation.pk and event.data["from_message"] == comment.pk
    detail = api.get(f"{BASE}/conversations/{dm.pk}").json()
    assert detail["origin_message_id"] == comment.pk and detail["origin_conversation_id"] == conversation.pk

    # A second private message to the same person goes into the same conversation.
    again = replay("mastodon/send_dm")
    again.interactions[1]["response"]["json"]["id"] = "110062"
    with ReplayServer(again) as server:
        channel.base_url = server.url
        channel.save(update_fields=["base_url"])
        response = api.post(f"{BASE}/messages/{comment.pk}/private", {"text": "سلام"})
    assert response.json()["conversation_id"] == dm.pk
    assert Conversation.objects.filter(kind=Kind.DM).count() == 1


def test_facebook_private_reply_keys_the_conversation_by_the_messenger_id(api: ApiClient, workspace: Workspace) -> None:
    recorded = replay("facebook/private_reply")
    ok = recorded.interactions[0]
    refused = {
        "request": ok["request"],
        "response": {"status": 400, "json": {"error": {"message": "(#100) Invalid parameter", "code": 100}}},
    }
    recorded.interactions = [refused, ok]
    with ReplayServer(recorded) as server:
        channel = facebook(workspace, server.url)
        _conversation, comment = thread(channel, "1", remote_id="1_3", author_remote_id="998877")
        text = "سلام، شماره سفارشتان را بفرستید"
        failed = api.post(f"{BASE}/messages/{comment.pk}/private", {"text": text}).json()["message"]
        assert failed["send_state"] == "failed" and "code 100" in failed["send_error"]
        # The retry sends it the same way: a private reply to that comment, not a public one.
        sent = api.post(f"{BASE}/messages/{failed['id']}/retry").json()["message"]
    server.verify()
    assert sent["send_state"] == "sent" and sent["remote_id"].startswith("m_")
    dm = Message.objects.get(pk=sent["id"]).conversation
    assert dm.thread_key == dm.contact_remote_id == "1254459154682919"  # Meta's page-scoped id: answers thread here
    assert Message.objects.get(pk=sent["id"]).send_method == "private_reply"


def test_message_privately_where_the_network_cannot_says_why(api: ApiClient, owner: User, workspace: Workspace) -> None:
    x = make_channel(workspace, "http://127.0.0.1:9", network="x", remote_id="3")
    _c, mention = thread(x, "t", kind=Kind.MENTION)
    error = assert_error(api.post(f"{BASE}/messages/{mention.pk}/private", {"text": "hi"}), 400, "not_supported")
    assert "X does not let Sokhan message people privately" in error["message"]

    instagram = make_channel(workspace, "http://127.0.0.1:9", network="instagram", remote_id="4")
    _c, tagged = thread(instagram, "m", kind=Kind.MENTION)
    error = assert_error(api.post(f"{BASE}/messages/{tagged.pk}/private", {"text": "hi"}), 400, "not_supported")
    assert "authors of comments" in error["message"]

    channel = mastodon(workspace, "http://127.0.0.1:9")
    _c, direct = thread(channel, "d", kind=Kind.DM)
    error = assert_error(api.post(f"{BASE}/messages/{direct.pk}/private", {"text": "hi"}), 400, "not_supported")
    assert "already a direct-message" in error["message"]
    assert_error(api.post(f"{BASE}/messages/{direct.pk}/private", {"text": ""}), 400)

    other = workspace_create(owner=owner, name="Other", slug="other")
    elsewhere = mastodon(other, "http://127.0.0.1:9")
    _c, foreign = thread(elsewhere, "f")
    assert_error(api.post(f"{BASE}/messages/{foreign.pk}/private", {"text": "hi"}), 404)
    assert not Message.objects.filter(direction=Direction.OUT).exists()
    assert not Conversation.objects.filter(kind=Kind.DM).exclude(pk=direct.conversation_id).exists()
